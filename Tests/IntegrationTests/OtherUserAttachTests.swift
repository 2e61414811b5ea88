import Foundation
import XCTest

/// `swiftleak attach`, as root, to processes of another user: a plain
/// process, one in a container (its own mount and pid namespaces and root
/// directory), one behind a private /tmp (systemd's PrivateTmp), and one in
/// a user namespace that does not map the host's root. The
/// agent and swiftleak meet in a directory swiftleak makes for the session
/// in the target's own /tmp; the counts stay exact.
final class OtherUserAttachTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        XCTAssertEqual(getuid(), 0, "these tests attach as root to another user's process")
    }

    private let nobody: UInt32 = 65534
    private var asNobody: [String] { ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups"] }
    private var leaky: String { TestEnvironment.fixture("leaky") }

    /// The fixture where any user, and a process behind a /tmp of its own,
    /// can run it: the checkout may sit in a private directory under /tmp
    /// (as a CI clone made with `mktemp -d` does).
    private func leakyForEveryone() throws -> String {
        var template = Array("/var/tmp/swiftleak-fixture-XXXXXX".utf8CString)
        let directory = try XCTUnwrap(mkdtemp(&template).map { String(cString: $0) }, "mkdtemp in /var/tmp: errno \(errno)")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(chmod(directory, 0o755), 0)
        try FileManager.default.copyItem(atPath: leaky, toPath: directory + "/leaky")
        XCTAssertEqual(chmod(directory + "/leaky", 0o755), 0)
        return directory + "/leaky"
    }

    func testRootAttachesToAnotherUsersProcess() throws {
        let target = try startTarget("/usr/bin/setpriv", asNobody + [try leakyForEveryone(), "interactive", "2"])
        XCTAssertEqual(ProcessTree.uid(target.pid), nobody)
        let session = try AttachedSession(target)
        let files = SessionSocketFiles(targetTmp: "/proc/\(target.pid)/root/tmp", swiftleakPID: session.process.pid)
        assertPrivateToTheTarget(files)
        let traced = try measureExactly(session, units: 300)
        _ = try session.detach()
        XCTAssertNil(files.directory, "the session's directory is removed at the end")
        try quit(target, leaked: traced)
    }

    /// The container: `unshare --mount --pid`, a root directory the test
    /// prepares (the host's /usr bound in, its own /tmp and /proc), and the
    /// fixture as nobody. The agent is copied into the container, its
    /// socket's directory is made in the container's /tmp, and its hello
    /// names a pid of the container's namespace: swiftleak accepts it by the
    /// kernel's SO_PEERCRED, which names our pid for it.
    func testAttachInsideAContainer() throws {
        let root = try TestEnvironment.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(chmod(root, 0o755), 0)
        try FileManager.default.createDirectory(atPath: root + "/fixture", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: leaky, toPath: root + "/fixture/leaky")
        let container = try ChildProcess("/usr/bin/unshare", ["--mount", "--pid", "--fork", "--kill-child",
                                                              "/bin/sh", "-c", Self.containerScript, "container", root,
                                                              "/usr/bin/setpriv"] + asNobody + ["/fixture/leaky", "interactive", "2"])
        addTeardownBlock { if container.process.isRunning { container.signal(SIGKILL) } }
        try container.waitForLine(containing: "ready")
        let pid = try XCTUnwrap(ProcessTree.descendant(of: container.pid, named: "leaky"), "the fixture inside the container")
        XCTAssertEqual(ProcessTree.uid(pid), nobody)
        XCTAssertEqual(ProcessTree.status(pid, "NSpid").count, 2, "a pid namespace of its own")
        XCTAssertNotEqual(ProcessTree.status(pid, "NSpid").last, "\(pid)")
        XCTAssertNotEqual(ProcessTree.rootIdentity(pid), ProcessTree.rootIdentity(getpid()), "a root directory of its own")

        let session = try AttachedSession(container, pid: pid)
        let files = SessionSocketFiles(targetTmp: "/proc/\(pid)/root/tmp", swiftleakPID: session.process.pid)
        assertPrivateToTheTarget(files)
        let traced = try measureExactly(session, units: 250)
        _ = try session.detach()
        XCTAssertNil(files.directory)
        try quit(container, leaked: traced)
    }

    /// systemd's PrivateTmp: the same root, but a /tmp of its own, which our
    /// /tmp/... does not reach; /proc/PID/root/tmp does.
    func testAttachBehindAPrivateTmp() throws {
        let script = "mount --make-rprivate / && mount -t tmpfs -o mode=1777 tmpfs /tmp && exec \"$@\""
        let target = try startTarget("/usr/bin/unshare", ["--mount", "/bin/sh", "-c", script, "private-tmp",
                                                          "/usr/bin/setpriv"] + asNobody + [try leakyForEveryone(), "interactive", "2"])
        XCTAssertEqual(ProcessTree.uid(target.pid), nobody)
        let session = try AttachedSession(target)
        let files = SessionSocketFiles(targetTmp: "/proc/\(target.pid)/root/tmp", swiftleakPID: session.process.pid)
        assertPrivateToTheTarget(files)
        XCTAssertNil(SessionSocketFiles(targetTmp: "/tmp", swiftleakPID: session.process.pid).directory,
                     "the directory is in the target's /tmp, not ours")
        let traced = try measureExactly(session, units: 200)
        _ = try session.detach()
        XCTAssertNil(files.directory)
        try quit(target, leaked: traced)
    }

    /// A user namespace that maps its root to host uid 100000 and leaves
    /// the host's root unmapped: inside, swiftleak's socket belongs to the
    /// overflow uid, which the agent accepts there (and only there).
    func testAttachInAUserNamespaceThatDoesNotMapRoot() throws {
        let mapped: UInt32 = 100_000
        let launcher = try ChildProcess("/usr/bin/python3", ["-c", Self.userNamespaceScript, try leakyForEveryone(), "interactive", "2"])
        addTeardownBlock { if launcher.process.isRunning { launcher.signal(SIGKILL) } }
        try launcher.waitForLine(containing: "unshared")
        for map in ["uid_map", "gid_map"] {
            try "0 \(mapped) 65536\n".write(toFile: "/proc/\(launcher.pid)/\(map)", atomically: false, encoding: .utf8)
        }
        launcher.send("mapped")
        try launcher.waitForLine(containing: "ready")
        XCTAssertEqual(ProcessTree.uid(launcher.pid), mapped, "root of its namespace, uid \(mapped) here")
        let session = try AttachedSession(launcher)
        let traced = try measureExactly(session, units: 150)
        _ = try session.detach()
        try quit(launcher, leaked: traced)
    }

    /// python3 -c SCRIPT PROGRAM ARGS...: enters a new user namespace, waits
    /// until the test has written its maps, becomes its root and runs PROGRAM.
    private static let userNamespaceScript = """
        import ctypes, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            sys.exit("unshare: errno %d" % ctypes.get_errno())
        print("unshared", flush=True)
        sys.stdin.readline()
        if libc.setresgid(0, 0, 0) or libc.setgroups(0, None) or libc.setresuid(0, 0, 0):
            sys.exit("becoming root of the namespace: errno %d" % ctypes.get_errno())
        os.execv(sys.argv[1], sys.argv[1:])
        """

    /// The session's directory: root's, the target's group may only enter
    /// it (0710); the socket inside: the target user's, 0600.
    private func assertPrivateToTheTarget(_ files: SessionSocketFiles, file: StaticString = #filePath, line: UInt = #line) {
        guard let directory = files.directory else {
            XCTFail("no swiftleak-\(files.swiftleakPID)-* in \(files.targetTmp)", file: file, line: line)
            return
        }
        let folder = files.facts(directory)
        XCTAssertEqual(folder?.type, S_IFDIR, file: file, line: line)
        XCTAssertEqual(folder?.uid, 0, file: file, line: line)
        XCTAssertEqual(folder?.gid, nobody, file: file, line: line)
        XCTAssertEqual(folder?.mode, 0o710, file: file, line: line)
        let socket = files.facts(directory + "/events")
        XCTAssertEqual(socket?.type, S_IFSOCK, file: file, line: line)
        XCTAssertEqual(socket?.uid, nobody, file: file, line: line)
        XCTAssertEqual(socket?.gid, nobody, file: file, line: line)
        XCTAssertEqual(socket?.mode, 0o600, file: file, line: line)
    }

    /// Run by `sh -c` in the new namespaces with ROOT COMMAND...: builds the
    /// container's filesystem and runs COMMAND chrooted there. The shell
    /// stays the namespace's init, so the fixture is an ordinary process.
    private static let containerScript = """
        set -e
        root=$1; shift
        mount --make-rprivate /
        mkdir -p "$root/usr" "$root/tmp" "$root/proc"
        mount --rbind /usr "$root/usr"
        for d in bin lib lib64; do
            if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"
            elif [ -d "/$d" ]; then mkdir -p "$root/$d"; mount --rbind "/$d" "$root/$d"; fi
        done
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        mount -t proc proc "$root/proc"
        chroot "$root" "$@"
        """
}
