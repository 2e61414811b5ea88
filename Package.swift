// swift-tools-version:6.0
// swiftleak: a native memory-leak profiler for Linux.
//
// Data flows one way, one module per stage:
//   target -> agent (C, Sources/Agent, built by the C toolchain) -> socket
//   -> LeakEvents (wire decoding) -> LeakAggregator (live set) -> LeakSymbols
//   -> LeakModel (snapshot files and analyses, pure) -> LeakReport (text/JSON)
// LeakCollector holds a session's parts (sockets, launch, signals, snapshot
// files); LeakInject attaches to a running process with ptrace; LeakSession
// runs `run` and `attach` on both; the swiftleak CLI parses and prints.
import PackageDescription

let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "swiftleak",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swiftleak", targets: ["swiftleak"]),
        .executable(name: "swiftleak-post", targets: ["swiftleak-post"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The wire format, one C header shared with the agent.
        .target(name: "CLeakProtocol"),
        // Thin C wrappers for calls Swift cannot import (variadic ptrace, ...).
        .target(name: "CLeakSys"),
        .systemLibrary(name: "CElfutils", path: "Sources/CElfutils"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // The event path handles millions of events a second: runtime
        // exclusivity checks there cost more than the bookkeeping itself.
        .target(name: "LeakEvents", dependencies: ["CLeakProtocol"], swiftSettings: hotPath),
        .target(name: "LeakAggregator", dependencies: ["LeakEvents"], swiftSettings: hotPath),
        .target(name: "LeakModel"),
        // The one home of OS plumbing: /proc readers, EINTR retry, write-all,
        // errno text, wait statuses; shared by the injector, the symbolizer
        // and the collector.
        .target(name: "LeakProc", dependencies: ["CLeakSys"]),
        .target(name: "LeakSymbols", dependencies: ["CElfutils", "CLeakSys", "CZlib", "LeakModel", "LeakProc"]),
        .target(name: "LeakReport", dependencies: ["LeakModel"]),
        // Python frames: code objects read from a live CPython target, line tables decoded.
        .target(name: "LeakPython", dependencies: ["CLeakSys", "LeakModel", "LeakProc"]),
        // Snapshots as pprof, collapsed stacks and speedscope (pure, no I/O).
        .target(name: "LeakExport", dependencies: ["LeakModel", "LeakReport", "CZlib"]),
        // Sends pprof profiles to Grafana Pyroscope's ingest endpoint.
        .target(name: "LeakPush", dependencies: ["LeakExport", "LeakModel", "LeakCollector", "LeakProc"]),
        // The HTTP POST itself, in a process of its own (`swiftleak-post`):
        // URLSession's FoundationNetworking stays out of the tracing process.
        .target(name: "LeakPost"),
        .executableTarget(name: "swiftleak-post", dependencies: ["LeakPost"]),
        .target(name: "LeakInject", dependencies: ["CElfutils", "CLeakSys", "LeakProc"]),
        // Names the type of a live block from its first words: Swift class
        // metadata, C++ vtables, Python ob_type (`swiftleak types`).
        .target(name: "LeakTypes", dependencies: ["CLeakSys", "LeakProc", "LeakSymbols"]),
        .target(
            name: "LeakCollector",
            dependencies: ["LeakEvents", "LeakAggregator", "LeakSymbols", "LeakModel", "LeakProc", "LeakPython", "LeakTypes", "LeakReach"]
        ),
        // The engines of `run` and `attach`: one event loop over the collector,
        // plus the injector for attach (LeakCollector stays free of ptrace).
        .target(name: "LeakSession", dependencies: ["LeakCollector", "LeakInject", "LeakModel", "LeakProc", "LeakScan"]),
        .executableTarget(
            name: "swiftleak",
            dependencies: [
                "LeakSession", "LeakCollector", "LeakModel", "LeakProc", "LeakReport", "LeakExport", "LeakPush",
                "LeakScan",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Reachability: the conservative mark phase over a paused process's
        // copied memory, direct and indirect leaks, cycles (pure, no I/O).
        .target(name: "LeakReach", swiftSettings: hotPath),
        // A reachability scan of a live process: pause it, copy its roots and
        // heap, resume it, analyse the copy with LeakReach.
        .target(name: "LeakScan", dependencies: ["CElfutils", "LeakInject", "LeakModel", "LeakProc", "LeakReach"]),

        .testTarget(name: "LeakEventsTests", dependencies: ["LeakEvents", "CLeakProtocol"]),
        .testTarget(name: "LeakAggregatorTests", dependencies: ["LeakAggregator", "LeakEvents"]),
        // Literal snapshots shared by the analysis and report tests.
        .target(name: "LeakTestSupport", dependencies: ["LeakModel"], path: "Tests/LeakTestSupport"),
        .testTarget(name: "LeakModelTests", dependencies: ["LeakModel", "LeakTestSupport"]),
        .testTarget(name: "LeakReportTests", dependencies: ["LeakReport", "LeakModel", "LeakTestSupport"]),
        .testTarget(name: "LeakExportTests", dependencies: ["LeakExport", "LeakPush", "LeakModel", "LeakTestSupport", "CZlib"]),
        .testTarget(name: "LeakProcTests", dependencies: ["LeakProc"]),
        .testTarget(name: "LeakPythonTests", dependencies: ["LeakPython"]),
        .testTarget(name: "LeakSymbolsTests", dependencies: ["LeakSymbols", "LeakModel", "LeakProc"]),
        .testTarget(name: "LeakInjectTests", dependencies: ["LeakInject", "LeakProc"]),
        .testTarget(name: "LeakSessionTests", dependencies: ["LeakSession", "LeakCollector", "LeakEvents", "LeakSymbols"]),
        .testTarget(name: "LeakTypesTests", dependencies: ["LeakTypes", "LeakSymbols"]),
        // The command line's argument readers (an executable target, tested in-process).
        .testTarget(name: "SwiftLeakTests", dependencies: ["swiftleak"]),
        // The injector KillDuringInjectionTests SIGKILLs mid-attach: a process of its own.
        .executableTarget(name: "KillableInjector", dependencies: ["LeakInject"], path: "Tests/Fixtures/KillableInjector"),
        .testTarget(name: "LeakReachTests", dependencies: ["LeakReach"]),
        .testTarget(name: "IntegrationTests", dependencies: ["LeakModel"], exclude: []),
    ],
    swiftLanguageModes: [.v5]
)
