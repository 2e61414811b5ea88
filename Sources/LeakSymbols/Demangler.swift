import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The Swift runtime's demangler. swiftleak is a Swift program, so the
/// runtime is always loaded; the entry point is exported but not in any
/// header. `flags` must be 0 (the runtime defines none), the result is
/// malloc'ed when no buffer is passed, and NULL when the input is not a
/// Swift symbol.
@_silgen_name("swift_demangle")
private func _swift_demangle(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
    _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<Int>?,
    _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

/// `abi::__cxa_demangle(mangled, buffer, length, status)`.
private typealias CxaDemangle = @convention(c) (
    UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?
) -> UnsafeMutablePointer<CChar>?

/// Turns linkage names into the names people read: Swift symbols through
/// the Swift runtime, Rust (legacy and v0) through `RustDemangler`, C++
/// (Itanium ABI) through libstdc++. Anything else, and anything that fails
/// to demangle, comes back unchanged.
///
/// Results are cached: a process has few distinct frames but they are
/// resolved again after every module change. Safe to call from any thread.
public enum Demangler {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: String] = [:]

    /// libstdc++'s demangler, looked up once. The Swift runtime links
    /// libstdc++ on Linux, so it is there in practice; if not, C++ names stay mangled.
    nonisolated(unsafe) private static let cxaDemangle: CxaDemangle? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__cxa_demangle") else { return nil }
        return unsafeBitCast(symbol, to: CxaDemangle.self)
    }()

    /// The demangled form of `symbol`, or `symbol` itself.
    public static func demangle(_ symbol: String) -> String {
        if let main = asyncMain(symbol) { return main }
        let isRust = RustDemangler.isRust(symbol)
        guard isRust || isSwift(symbol) || isCxx(symbol) else { return symbol }
        lock.lock()
        if let known = cache[symbol] {
            lock.unlock()
            return known
        }
        lock.unlock()
        // Demangle outside the lock: the demanglers are reentrant, and a
        // race only computes the same answer twice. Rust goes first: its
        // legacy names are Itanium-shaped too.
        let demangled = isRust ? RustDemangler.demangle(symbol)
            : isSwift(symbol) ? demangleSwift(symbol).map(asyncFunction) : demangleCxx(symbol)
        let result = demangled ?? symbol
        lock.lock()
        cache[symbol] = result
        lock.unlock()
        return result
    }

    /// Swift 5+ ("$s", "_$s", "$e" embedded), Swift 4.x ("$S", "_$S") and Swift 4.0 ("_T0") prefixes.
    static func isSwift(_ s: String) -> Bool {
        s.hasPrefix("$s") || s.hasPrefix("_$s") || s.hasPrefix("$S") || s.hasPrefix("_$S")
            || s.hasPrefix("$e") || s.hasPrefix("_$e") || s.hasPrefix("_T0")
    }

    /// The async function a partial function belongs to. Swift splits an
    /// async function at each suspension point into partial functions the
    /// executor resumes ("(2) suspend resume partial function for
    /// App.makeRecord(Swift.Int) async -> App.Record", "(1) await resume
    /// partial function for ..."); people wrote, and look for, the function.
    static func asyncFunction(_ demangled: String) -> String {
        guard let marker = demangled.range(of: "partial function for ") else { return demangled }
        // Only the prefix forms the demangler writes: "(N) suspend resume ",
        // "(N) await resume ", "resume "; a name that merely contains the
        // words (a closure in such a function) has a qualified name before them.
        let prefix = demangled[..<marker.lowerBound]
        guard prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "(" || $0 == ")" }) else { return demangled }
        return String(demangled[marker.upperBound...])
    }

    /// The top-level code of a program with `await` in it is the function
    /// `async_Main` (C linkage, not mangled), split into partial functions
    /// `async_MainTY1_`, `async_MainTQ0_`...; a synchronous program's top-level
    /// code is `main`, and so is this one's.
    static func asyncMain(_ symbol: String) -> String? {
        guard symbol.hasPrefix("async_Main") else { return nil }
        let rest = symbol.dropFirst("async_Main".count)
        if rest.isEmpty { return "main" }
        guard rest.hasPrefix("TY") || rest.hasPrefix("TQ"), rest.hasSuffix("_") else { return nil }
        let digits = rest.dropFirst(2).dropLast()
        return !digits.isEmpty && digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? "main" : nil
    }

    /// Itanium C++ names start with "_Z" (or "__Z" where C symbols get an underscore).
    static func isCxx(_ s: String) -> Bool {
        s.hasPrefix("_Z") || s.hasPrefix("__Z")
    }

    static func demangleSwift(_ symbol: String) -> String? {
        symbol.withCString { name -> String? in
            guard let out = _swift_demangle(name, strlen(name), nil, nil, 0) else { return nil }
            defer { free(out) }
            return String(cString: out)
        }
    }

    static func demangleCxx(_ symbol: String) -> String? {
        guard let cxaDemangle else { return nil }
        return symbol.withCString { name -> String? in
            var status: Int32 = 0
            guard let out = cxaDemangle(name, nil, nil, &status) else { return nil }
            defer { free(out) }
            return status == 0 ? String(cString: out) : nil
        }
    }
}
