import CLeakSys
import Glibc
import LeakProc

/// Keeps our system calls away from a seccomp filter that would not let them
/// through. A filter that kills socket(2) (systemd's SystemCallFilter=)
/// kills the whole target the moment the agent opens its socket; one that
/// fails mmap makes the attach fail halfway. So before the first remote
/// call, every filter of the borrowed thread (the one that makes our calls,
/// and whose filters the agent's thread inherits) is read back and run on
/// each call of `SeccompNeeds`; anything but ALLOW (or LOG) refuses the
/// attach with the thread untouched.
enum SeccompCheck {
    /// Why the calls cannot go ahead.
    struct Refusal: Equatable {
        var call: String
        /// nil: the filter computes its answer from input we cannot know.
        var action: SeccompAction?
        /// The answer depended on an argument or the calling address.
        var uncertain: Bool
        var madeBy: String

        var detail: String {
            let call = "\(self.call)(2)"
            guard let action else { return "answers \(call) with a value computed from unknown input, and \(madeBy) needs it" }
            return uncertain
                ? "may \(action.phrase(call, afterMay: true)) depending on arguments swiftleak cannot predict, and \(madeBy) needs it"
                : "\(action.phrase(call)), which \(madeBy) needs"
        }
    }

    /// Before anything is stopped: refuses a filtered process whose filters
    /// we will not be able to read, unless told to go ahead unchecked.
    static func precheck(pid: Int32, ignoreUnreadable: Bool) throws {
        guard !ignoreUnreadable, case .success(let status) = ProcStatus.read(pid: pid), status.seccompMode == 2 else { return }
        if let reason = whyFiltersAreUnreadable() { throw InjectError.seccompUnreadable(pid: pid, reason: reason) }
    }

    /// With `tid` held (stopped by us): reads its filters and checks every
    /// call. Throws the refusal; returns when the calls may go ahead.
    static func verify(pid: Int32, tid: Int32, ignoreUnreadable: Bool) throws {
        let mode = ProcStatus.read(pid: pid, tid: tid)?.seccompMode ?? 0
        if mode == 0 { return }
        if mode == 1 { throw InjectError.seccompStrict(pid: pid) }
        switch readFilters(tid: tid) {
        case .failure(let reason):
            if ignoreUnreadable { return }
            throw InjectError.seccompUnreadable(pid: pid, reason: reason.text)
        case .success(let filters):
            if let refusal = firstRefusal(filters: filters, needs: SeccompNeeds.list(pid: pid)) {
                throw InjectError.seccompForbids(pid: pid, detail: refusal.detail)
            }
        }
    }

    /// The first call of `needs` that the chain of `filters` does not let
    /// through, or nil when all may be made.
    static func firstRefusal(filters: [[BPFInstruction]], needs: [SeccompNeed]) -> Refusal? {
        for need in needs {
            let (action, uncertain) = verdict(filters: filters, need: need)
            if let action {
                if action.runsTheCall { continue }
                if case .errno(let code) = action, !uncertain {
                    if need.failureIsHandled { continue }
                    if code == ENOSYS, let name = need.fallback, let fallback = SeccompNeeds.fallback(name) {
                        if let refusal = firstRefusal(filters: filters, needs: [fallback]) { return refusal }
                        continue
                    }
                }
            }
            return Refusal(call: need.name, action: action, uncertain: uncertain, madeBy: need.madeBy)
        }
        return nil
    }

    /// What the chain does with `need`: the most restrictive action over
    /// every filter, argument set and path (nil when a path returns a value
    /// computed from unknown input), and whether only guessed paths reach it.
    static func verdict(filters: [[BPFInstruction]], need: SeccompNeed) -> (SeccompAction?, Bool) {
        var worst: SeccompAction? = .allow
        var worstKnown = false
        var unknownValue = false, unknownGuessed = true
        for filter in filters {
            for input in need.inputs() {
                for outcome in BPFEvaluator.run(filter, input) {
                    guard let value = outcome.value else {
                        unknownValue = true
                        unknownGuessed = unknownGuessed && outcome.guessed
                        continue
                    }
                    let action = SeccompAction(returnValue: value)
                    if let current = worst, action.precedence < current.precedence {
                        worst = action
                        worstKnown = !outcome.guessed
                    } else if action == worst && !outcome.guessed {
                        worstKnown = true
                    }
                }
            }
        }
        if unknownValue { return (nil, unknownGuessed) }
        return (worst, worst?.runsTheCall == true ? false : !worstKnown)
    }

    enum ReadFailure: Error {
        case failed(String)
        var text: String { if case .failed(let s) = self { return s }; return "" }
    }

    /// Every filter of the stopped thread, most recently installed first
    /// (the kernel runs them all and keeps the most restrictive answer, so
    /// the order does not matter here).
    static func readFilters(tid: Int32) -> Result<[[BPFInstruction]], ReadFailure> {
        var filters: [[BPFInstruction]] = []
        var buffer = [UInt8](repeating: 0, count: Int(SL_BPF_MAXINSNS) * 8)
        for index in 0..<1024 {
            let count = buffer.withUnsafeMutableBytes { sl_ptrace_seccomp_get_filter(tid, UInt(index), $0.baseAddress) }
            if count < 0 {
                let code = errno
                if code == ENOENT && index > 0 { return .success(filters) }
                if code == EACCES, let reason = whyFiltersAreUnreadable() { return .failure(.failed(reason)) }
                return .failure(.failed("PTRACE_SECCOMP_GET_FILTER: \(errnoDescription(code))"))
            }
            filters.append(BPFInstruction.decode(Array(buffer[0..<Int(min(count, Int(SL_BPF_MAXINSNS))) * 8])))
        }
        return .failure(.failed("more than 1024 filters"))
    }

    /// Reading filters back needs CAP_SYS_ADMIN and no filter of our own.
    static func whyFiltersAreUnreadable() -> String? {
        guard let text = ProcFiles.readIfPresent("/proc/self/status") else { return "cannot read /proc/self/status" }
        if ProcStatus(text: text).seccompMode != 0 { return "swiftleak itself runs under seccomp, which forbids reading filters back" }
        if !PermissionExplainer.capabilityEffective(bit: 21) { return "swiftleak lacks CAP_SYS_ADMIN" }  // CAP_SYS_ADMIN
        return nil
    }
}
