import Foundation
import XCTest
@testable import LeakSymbols

/// Rust names, legacy and v0. The expected forms are the grammar's own
/// recommended demanglings (rustc book, "v0 Symbol Format") and real symbols
/// of the standard library and of Tests/Fixtures/rust_sessions.rs, checked by
/// hand against the grammar; the fixture's whole symbol table is then
/// compared with two demanglers written by others: GNU c++filt (libiberty)
/// and LLVM's (llvm-nm, shipped with the Swift toolchain).
final class RustDemanglerTests: XCTestCase {
    // MARK: the grammar's examples

    func testGrammarExamples() {
        let examples: [(String, String)] = [
            ("_RNvMsr_NtCs3ssYzQotkvD_3std4pathNtB5_7PathBuf3newCs15kBYyAo9fc_7mycrate", "<std::path::PathBuf>::new"),
            ("_RNvCs15kBYyAo9fc_7mycrate7example", "mycrate::example"),
            ("_RNvMs_Cs4Cv8Wi1oAIB_7mycrateNtB4_7Example3foo", "<mycrate::Example>::foo"),
            ("_RNvXCs15kBYyAo9fc_7mycrateNtB2_7ExampleNtB2_5Trait3foo", "<mycrate::Example as mycrate::Trait>::foo"),
            ("_RNvMCs7qp2U7fqm6G_7mycrateNtB2_7Example3foo", "<mycrate::Example>::foo"),
            ("_RNvYNtCs15kBYyAo9fc_7mycrate7ExampleNtB4_5Trait7exampleB4_", "<mycrate::Example as mycrate::Trait>::example"),
            ("_RNCNvCsgStHSCytQ6I_7mycrate4main0B3_", "mycrate::main::{closure#0}"),
            ("_RNCNvCsgStHSCytQ6I_7mycrate4mains_0B3_", "mycrate::main::{closure#1}"),
            ("_RINvCsgStHSCytQ6I_7mycrate7examplelKj1_EB2_", "mycrate::example::<i32, 1>"),
            ("_RNvNtNtCsgOH4LzxkuMq_7mycrateu8gdel_5qa6escher4bach", "mycrate::gödel::escher::bach"),
            ("_RINvCs7qp2U7fqm6G_7mycrate7exampleFG0_RL1_hRL0_tEuEB2_", "mycrate::example::<for<'a, 'b> fn(&'a u8, &'b u16)>"),
            ("_RINvCs7qp2U7fqm6G_7mycrate7exampleKy12345678_EB2_", "mycrate::example::<305419896>"),
            ("_RNvNvMCsd9PVOYlP1UU_7mycrateINtB4_7ExamplepKpE3foo14EXAMPLE_STATIC", "<mycrate::Example<_, _>>::foo::EXAMPLE_STATIC"),
            ("_RINvCs7qp2U7fqm6G_7mycrate7exampleAtj8_EB2_", "mycrate::example::<[u16; 8]>"),
            ("_RINvCs7qp2U7fqm6G_7mycrate7exampleNtB2_7ExampleBw_EB2_", "mycrate::example::<mycrate::Example, mycrate::Example>"),
            ("_RINvMsY_NtCseXNvpPnDBDp_3std4pathNtB6_4Path3neweECs7qp2U7fqm6G_7mycrate", "<std::path::Path>::new::<str>"),
        ]
        for (symbol, expected) in examples {
            XCTAssertEqual(Demangler.demangle(symbol), expected, symbol)
        }
    }

    // MARK: real symbols

    /// From rust_sessions built by rustc 1.95 (-O -g): the standard library
    /// is v0, the program's own code legacy.
    func testStandardLibrarySymbols() {
        let symbols: [(String, String)] = [
            ("_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal", "std::rt::lang_start_internal"),
            ("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc", "__rustc::__rust_alloc"),
            ("_RNCNCNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal00s_0B9_",
             "std::rt::lang_start_internal::{closure#0}::{closure#0}::{closure#1}"),
            ("_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecINtNtB7_3vec3VechEE8grow_oneCsjrHSEGnQ3l9_3std",
             "<alloc::raw_vec::RawVec<alloc::vec::Vec<u8>>>::grow_one"),
            ("_RINvNvMs2_NtCslNYArtu3iFV_5alloc7raw_vecINtB8_11RawVecInnerpE7reserve21do_reserve_and_handleNtNtBa_5alloc6GlobalECsjrHSEGnQ3l9_3std",
             "<alloc::raw_vec::RawVecInner<_>>::reserve::do_reserve_and_handle::<alloc::alloc::Global>"),
            ("_RINvMNtCsgEmfK2I1SDS_4core3stre18trim_start_matchesReECsgY6Mt91CT9J_14rustc_demangle",
             "<str>::trim_start_matches::<&str>"),
            ("_RINvMNtCsgEmfK2I1SDS_4core5sliceSh11copy_withinINtNtNtB5_3ops5range14RangeInclusivejEECsfEOYDRpO4Ta_11miniz_oxide",
             "<[u8]>::copy_within::<core::ops::range::RangeInclusive<usize>>"),
            // A dyn trait with an associated type binding and auto traits; a tuple.
            ("_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecINtNtB7_5boxed3BoxDINtNtNtCsgEmfK2I1SDS_4core3ops8function5FnMutuEp6OutputINtNtB1c_6result6ResultuNtNtNtCsjrHSEGnQ3l9_3std2io5error5ErrorENtNtB1c_6marker4SyncNtB32_4SendEL_EE8grow_oneB2s_",
             "<alloc::raw_vec::RawVec<alloc::boxed::Box<dyn core::ops::function::FnMut<(), Output = core::result::Result<(), std::io::error::Error>> + core::marker::Sync + core::marker::Send>>>::grow_one"),
        ]
        for (symbol, expected) in symbols {
            XCTAssertEqual(Demangler.demangle(symbol), expected, symbol)
        }
    }

    func testLegacySymbolsLoseTheirHash() {
        let symbols: [(String, String)] = [
            ("_ZN13rust_sessions12open_session17hcd797c54cd1404c4E", "rust_sessions::open_session"),
            ("_ZN4main12open_session17hf2b100d63cc59f55E", "main::open_session"),
            ("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0e4938eee4477131E", "std::rt::lang_start::{{closure}}"),
            ("_ZN4core3ptr35drop_in_place$LT$std..env..Args$GT$17h17c6d289962c9470E", "core::ptr::drop_in_place<std::env::Args>"),
            ("_ZN79_$LT$hashbrown..raw..RawTable$LT$T$C$A$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h5fd9a3270e00933cE",
             "<hashbrown::raw::RawTable<T,A> as core::ops::drop::Drop>::drop"),
            ("_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h4915bd6c054a7971E.llvm.15017222468842288223",
             "hashbrown::raw::RawTable<T,A>::reserve_rehash"),
            ("_ZN4core3ops8function6FnOnce40call_once$u7b$$u7b$vtable.shim$u7d$$u7d$17h44b648531f5f28caE",
             "core::ops::function::FnOnce::call_once{{vtable.shim}}"),
            ("_ZN5alloc5alloc8box_free17h0123456789abcdefE.cold", "alloc::alloc::box_free"),
        ]
        for (symbol, expected) in symbols {
            XCTAssertEqual(Demangler.demangle(symbol), expected, symbol)
        }
    }

    func testItaniumNamesWithoutARustHashStayCxx() {
        XCTAssertFalse(RustDemangler.isRust("_ZNSt6vectorIiSaIiEE9push_backERKi"))
        XCTAssertEqual(Demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"), "std::vector<int, std::allocator<int> >::push_back(int const&)")
        // A 17-character last segment that is not a hash.
        XCTAssertEqual(Demangler.demangle("_ZN3foo17hxxxxxxxxxxxxxxxxE"), "foo::hxxxxxxxxxxxxxxxx")
        XCTAssertFalse(RustDemangler.isRust("_ZN3foo17h0123456789abcdefEv"), "a parameter list after E is C++")
    }

    // MARK: the rest of the grammar

    func testTypesConstsAndLifetimes() {
        let cases: [(String, String)] = [
            // Tuples (one element keeps its comma), slices, pointers, references with lifetimes.
            ("_RINvCs1_1c1fTmEE", "c::f::<(u32,)>"),
            ("_RINvCs1_1c1fThtEE", "c::f::<(u8, u16)>"),
            ("_RINvCs1_1c1fSPhOaQmRcEB2_", "c::f::<[*const u8], *mut i8, &mut u32, &char>"),
            ("_RINvCs1_1c1fFG_RL0_hEuEB2_", "c::f::<for<'a> fn(&'a u8)>"),
            ("_RINvCs1_1c1fFUKCEuEB2_", "c::f::<unsafe extern \"C\" fn()>"),
            ("_RINvCs1_1c1fFK10sysv64_abiEzEB2_", "c::f::<extern \"sysv64-abi\" fn() -> !>"),
            ("_RINvCs1_1c1fFyEvEB2_", "c::f::<fn(u64) -> ...>"),
            ("_RINvCs1_1c1fL_EB2_", "c::f::<'_>"),
            // Consts: negative, bool, char, u128 beyond 64 bits, placeholder.
            ("_RINvCs1_1c1fKln2a_Kb1_Kc41_Kca_Kc27_Kc3bb_EB2_", "c::f::<-42, true, 'A', '\\n', '\\'', '\\u{3bb}'>"),
            ("_RINvCs1_1c1fKb0_Ko100000000000000000_KpEB2_", "c::f::<false, 0x100000000000000000, _>"),
            ("_RINvCs1_1c1fKj0_EB2_", "c::f::<0>"),
            // Shims and other uppercase namespaces; lowercase ones are hidden.
            ("_RNSNvCs1_1c1f6vtable", "c::f::{shim:vtable#0}"),
            ("_RNANvCs1_1c1fs0_0", "c::f::{A#2}"),
            ("_RNxNvCs1_1c1f1g", "c::f::g"),
            // Dyn traits: a binder of their own, a lifetime bound from an enclosing one.
            ("_RINvCs1_1c1fDG_NtB2_1TEL_EB2_", "c::f::<dyn for<'a> c::T>"),
            ("_RINvCs1_1c1fFG_RL0_DNtB2_1TEL0_EuEB2_", "c::f::<for<'a> fn(&'a dyn c::T + 'a)>"),
            // Punycode crate name, and Punycode that does not decode.
            ("_RNvCs1_u6st_obc1f", "ρst::f"),
            ("_RNvCs1_u3a_z1f", "punycode{a_z}::f"),
        ]
        for (symbol, expected) in cases {
            XCTAssertEqual(Demangler.demangle(symbol), expected, symbol)
        }
    }

    func testSuffixes() {
        XCTAssertEqual(Demangler.demangle("_RNvCs15kBYyAo9fc_7mycrate7example.llvm.123"), "mycrate::example")
        XCTAssertEqual(Demangler.demangle("_RNvCs15kBYyAo9fc_7mycrate7example.cold"), "mycrate::example")
        XCTAssertEqual(Demangler.demangle("_RNvCs15kBYyAo9fc_7mycrate7example$tlv$init"), "mycrate::example")
    }

    func testMalformedSymbolsStayAsTheyAre() {
        for symbol in [
            "_R", "_RN", "_RNv", "_RNvC", "_RNvC3ab", "_RNvCs_", "_RX", "_R0NvC1a1f", "_RNvC1a1fZ",
            "_RNvB1_1f",            // a backref to itself
            "_RINvC1a1fKz_E",       // a const of a type consts cannot have
            "_RINvC1a1fRL1_hE",     // a lifetime no binder bound
            "_RNvC1a99999999999999999999999f", "_RNvC1as99999999999999999999999_1f",
            "_Rfoo", "_RNvC1a1f\u{0}",
            "_ZN3foo", "_ZN3foo17h0123456789abcdef",
        ] {
            XCTAssertEqual(Demangler.demangle(symbol), symbol, symbol)
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = "_RINvC1a1f" + String(repeating: "S", count: 100_000) + "hE"
        XCTAssertEqual(Demangler.demangle(deep), deep)
        // Each level a pair of backrefs to the one before: 2^40 copies of
        // `u8` asked for, refused at the output limit.
        var exponential = "INvC1a1f"  // the grammar's offsets start after `_R`
        var previous = exponential.utf8.count
        exponential += "ThE"
        for _ in 0..<40 {
            let level = exponential.utf8.count
            exponential += "TB\(base62(previous))B\(base62(previous))E"
            previous = level
        }
        XCTAssertNil(RustV0Demangler.demangle("_R" + exponential + "E"))
        // Ten levels are fine: every level is an argument, 1 + 2 + ... + 1024 copies.
        var small = "INvC1a1f"
        previous = small.utf8.count
        small += "ThE"
        for _ in 0..<10 {
            let level = small.utf8.count
            small += "TB\(base62(previous))B\(base62(previous))E"
            previous = level
        }
        XCTAssertEqual(RustV0Demangler.demangle("_R" + small + "E")?.components(separatedBy: "u8").count, 2047 + 1)
    }

    private func base62(_ value: Int) -> String {
        if value == 0 { return "_" }
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var number = value - 1, text = ""
        repeat {
            text = String(digits[number % 62]) + text
            number /= 62
        } while number > 0
        return text + "_"
    }

    func testPunycode() {
        // RFC 2603's table, `-` written as `_`.
        for (encoded, decoded) in [("f_5gaa", "føø"), ("__ylb7e", "α_ω"), ("n84amf", "铁锈"), ("fq9h", "🤦"), ("2xaedc", "ρυστ"), ("gdel_5qa", "gödel")] {
            XCTAssertEqual(Punycode.decode(Array(encoded.utf8), delimiter: UInt8(ascii: "_")), decoded, encoded)
        }
        // RFC 3492's sample (L): 3<nen>B<gumi><kinpachi><sensei>.
        XCTAssertEqual(Punycode.decode(Array("3B-ww4c5e180e575a65lsy2b".utf8)), "3年B組金八先生")
        XCTAssertNil(Punycode.decode(Array("a-!".utf8)))
        XCTAssertNil(Punycode.decode(Array("zzzzzzzzzzzzzzzzzzzzzzzzzz".utf8)))
    }

    // MARK: independent oracles

    /// Every Rust symbol of the fixture, demangled here, against GNU c++filt
    /// (`-s rust -i`: Rust rules, no hashes) and, for v0, LLVM's demangler.
    func testFixtureSymbolTableMatchesOtherDemanglers() throws {
        let binary = try rustFixture()
        let llvmNm = try tool("llvm-nm")
        let symbols = try run(llvmNm, ["--format=just-symbols", "--no-sort", binary]).split(separator: "\n").map(String.init)
        let llvmNames = try run(llvmNm, ["--format=just-symbols", "--no-sort", "--demangle", binary]).split(separator: "\n").map(String.init)
        XCTAssertEqual(symbols.count, llvmNames.count)
        let rust = symbols.indices.filter { RustDemangler.isRust(symbols[$0]) }
        XCTAssertGreaterThan(rust.count, 20, "the fixture has Rust symbols")

        let gnu = try run(try tool("c++filt"), ["-s", "rust", "-i"], input: rust.map { symbols[$0] + "\n" }.joined())
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var v0 = 0
        for (row, index) in rust.enumerated() {
            let symbol = symbols[index]
            let ours = Demangler.demangle(symbol)
            XCTAssertNotEqual(ours, symbol, "not demangled: \(symbol)")
            XCTAssertEqual(ours, gnu[row], "c++filt: \(symbol)")
            // LLVM keeps legacy hashes and prints suffixes its own way: v0 without suffix only.
            if symbol.hasPrefix("_R") && !symbol.contains(".") {
                XCTAssertEqual(ours, llvmNames[index], "llvm: \(symbol)")
                v0 += 1
            }
        }
        // rustc 1.63 (Debian 12's) builds its standard library legacy-mangled;
        // rustup's current ones v0.
        if symbols.contains(where: { $0.hasPrefix("_R") }) {
            XCTAssertGreaterThan(v0, 100, "the standard library's v0 symbols were compared")
        }
    }

    private func rustFixture() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let directory = ProcessInfo.processInfo.environment["SWIFTLEAK_FIXTURES"] ?? root + "/Tests/Fixtures/bin"
        let path = directory + "/rust_sessions"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
        return path
    }

    /// A tool on PATH or beside the Swift compiler (llvm-nm ships in the toolchain).
    private func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for directory in path.split(separator: ":") + ["/usr/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        XCTFail("\(name) is not on PATH (c++filt comes with binutils, llvm-nm with the Swift toolchain)")
        throw CancellationError()
    }

    private func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        // Write from another thread: the tool's output pipe fills while it reads.
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }
}
