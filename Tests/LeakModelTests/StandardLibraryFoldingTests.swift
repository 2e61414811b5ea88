import XCTest
@testable import LeakModel

/// C++ and Rust standard library frames fold away like Swift's: the row is
/// the program's line. The frames are those swiftleak reported for
/// Tests/Fixtures/std_cxx.cpp (g++ 12 -O2 -g) and rust_sessions.rs
/// (rustc 1.95 -O -g), in both shapes the symbolizer gives: one frame per
/// inline level, or one per return address named after the innermost level.
final class StandardLibraryFoldingTests: XCTestCase {
    private let program = "/app/std_cxx"
    private let libstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"
    private let rustProgram = "/app/rust_sessions"
    private let rustLibrary = "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library"

    private func isFolded(_ function: String?, file: String? = nil, module: String? = nil) -> Bool {
        AllocatorFrames.isAllocator(Frame(function: function, file: file, module: module ?? program, address: 1))
    }

    // MARK: C++

    func testStringConstructionFoldsToTheProgramLine() {
        let user = Frame(function: "open_session(long)", file: "/src/std_cxx.cpp", line: 35, module: program, address: 0x40)
        let stack = [
            Frame(function: "operator new(unsigned long)", module: libstdcxx, address: 1),
            Frame(function: "void std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_construct<char const*>(char const*, char const*, std::forward_iterator_tag)",
                  module: libstdcxx, address: 2),
            Frame(function: "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string<std::allocator<char> >(char const*, std::allocator<char> const&)",
                  file: "/usr/include/c++/12/bits/basic_string.h", line: 659, module: program, address: 0x40),
            user,
            Frame(function: "main", file: "/src/std_cxx.cpp", line: 49, module: program, address: 0x50),
        ]
        XCTAssertEqual(AllocatorFrames.fold(stack).first, user)
        XCTAssertEqual(AllocatorFrames.fold(stack).count, 2)
    }

    func testVectorGrowthAndMakeSharedFoldToTheProgramLine() {
        let user = Frame(function: "open_session(long)", file: "/src/std_cxx.cpp", line: 37, module: program, address: 0x40)
        let growth = [
            Frame(function: "operator new(unsigned long)", module: libstdcxx, address: 1),
            Frame(function: "std::__new_allocator<long>::allocate(unsigned long, void const*)",
                  file: "/usr/include/c++/12/bits/new_allocator.h", line: 137, module: program, address: 0x40),
            Frame(function: "void std::vector<long, std::allocator<long> >::_M_realloc_insert<long>(__gnu_cxx::__normal_iterator<long*, std::vector<long, std::allocator<long> > >, long&&)",
                  file: "/usr/include/c++/12/bits/vector.tcc", line: 440, module: program, address: 0x40),
            Frame(function: "long& std::vector<long, std::allocator<long> >::emplace_back<long>(long&&)",
                  file: "/usr/include/c++/12/bits/vector.tcc", line: 123, module: program, address: 0x40),
            user,
        ]
        XCTAssertEqual(AllocatorFrames.fold(growth), [user])
        let shared = [
            Frame(function: "operator new(unsigned long)", module: libstdcxx, address: 1),
            Frame(function: "std::__new_allocator<std::_Sp_counted_ptr_inplace<Session, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> >::allocate(unsigned long, void const*)",
                  file: "/usr/include/c++/12/bits/new_allocator.h", line: 137, module: program, address: 0x40),
            Frame(function: "std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<Session, std::allocator<void>>(Session*&, std::_Sp_alloc_shared_tag<std::allocator<void> >)",
                  module: program, address: 0x40),
            Frame(function: "std::shared_ptr<Session> std::make_shared<Session>()", module: program, address: 0x40),
            user,
        ]
        XCTAssertEqual(AllocatorFrames.fold(shared), [user])
        // libc++'s names, inlined from its headers.
        XCTAssertTrue(isFolded("std::__1::vector<int, std::__1::allocator<int> >::__push_back_slow_path<int const&>(int const&)",
                               file: "/usr/lib/llvm-14/bin/../include/c++/v1/vector"))
        XCTAssertTrue(isFolded("x", module: "/usr/lib/llvm-14/lib/libc++.so.1.0"))
    }

    func testProgramCodeThatMentionsStdStays() {
        for name in [
            "main", "open_session(long)", "ns::Cache::put(std::string const&)",
            // A template returning a std type is the program's: the return type comes first.
            "std::vector<int, std::allocator<int> > make_list<int>()",
            "std::shared_ptr<Session> factory::make(long)",
            // Lambdas and operators of the program's own types.
            "main::{lambda()#1}::operator()() const",
            "ns::Matrix::operator<<(std::ostream&) const",
            "(anonymous namespace)::helper(std::vector<long, std::allocator<long> >&)",
        ] {
            XCTAssertFalse(isFolded(name), name)
        }
        XCTAssertFalse(isFolded("main", file: "/src/std_cxx.cpp"))
        XCTAssertFalse(isFolded("std_like::thing()"))
        XCTAssertFalse(isFolded("x", module: "/usr/lib/libstdc++-helper.so"))
    }

    func testQualifiedNames() {
        let cases: [(String, String)] = [
            ("std::vector<int, std::allocator<int> > make_list<int>()", "make_list<int>"),
            ("void std::vector<long, std::allocator<long> >::_M_realloc_insert<long>(__gnu_cxx::__normal_iterator<long*, std::vector<long, std::allocator<long> > >, long&&)",
             "std::vector<long, std::allocator<long> >::_M_realloc_insert<long>"),
            ("std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<Session>(Session*&)", "std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<Session>"),
            ("(anonymous namespace)::helper(int)", "(anonymous namespace)::helper"),
            ("main::{lambda()#1}::operator()() const", "main::{lambda()#1}::operator()"),
            ("bool std::operator< <char>(std::string const&, std::string const&)", "std::operator< <char>"),
            ("std::ostream& std::operator<< <std::char_traits<char> >(std::ostream&, char const*)", "std::operator<< <std::char_traits<char> >"),
            ("ns::Ptr::operator->() const", "ns::Ptr::operator->"),
            ("operator new[](unsigned long)", "operator new[]"),
            ("unsigned long ns::count<int>(int)", "ns::count<int>"),
            ("<alloc::vec::Vec<fn() -> u8> as core::clone::Clone>::clone", "<alloc::vec::Vec<fn() -> u8> as core::clone::Clone>::clone"),
            ("rust_sessions::main::{closure#0}", "rust_sessions::main::{closure#0}"),
        ]
        for (name, expected) in cases {
            XCTAssertEqual(DemangledName.qualifiedName(name), Substring(expected), name)
        }
        XCTAssertEqual(DemangledName.root("std::operator< <char>"), "std")
        XCTAssertNil(DemangledName.root("(anonymous namespace)::helper"))
        XCTAssertNil(DemangledName.root("<str>::len"))
        let impl = DemangledName.implParts("<alloc::vec::Vec<fn() -> u8> as core::clone::Clone>::clone")
        XCTAssertEqual(impl?.selfType, "alloc::vec::Vec<fn() -> u8>")
        XCTAssertEqual(impl?.trait, "core::clone::Clone")
        XCTAssertEqual(DemangledName.implParts("<[u8]>::to_vec")?.selfType, "[u8]")
        XCTAssertNil(DemangledName.implParts("<[u8]>::to_vec")?.trait)
        XCTAssertNil(DemangledName.implParts("<unbalanced"))
    }

    // MARK: Rust

    func testVecAllocationFoldsToTheProgramLine() {
        let user = Frame(function: "rust_sessions::open_session", file: "/src/rust_sessions.rs", line: 21, module: rustProgram, address: 0x40)
        let expanded = [
            Frame(function: "__rustc::__rust_alloc", module: rustProgram, address: 1),
            Frame(function: "__rdl_alloc", file: "\(rustLibrary)/std/src/alloc.rs", line: 390, module: rustProgram, address: 2),
            Frame(function: "alloc::alloc::alloc", file: "\(rustLibrary)/alloc/src/alloc.rs", line: 95, module: rustProgram, address: 0x40),
            Frame(function: "<alloc::alloc::Global>::alloc_impl", file: "\(rustLibrary)/alloc/src/alloc.rs", line: 190, module: rustProgram, address: 0x40),
            Frame(function: "<alloc::raw_vec::RawVecInner>::try_allocate_in", file: "\(rustLibrary)/alloc/src/raw_vec/mod.rs", line: 477, module: rustProgram, address: 0x40),
            Frame(function: "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem::<alloc::alloc::Global>",
                  file: "\(rustLibrary)/alloc/src/vec/spec_from_elem.rs", line: 52, module: rustProgram, address: 0x40),
            Frame(function: "alloc::vec::from_elem::<u8>", file: "\(rustLibrary)/alloc/src/vec/mod.rs", line: 3223, module: rustProgram, address: 0x40),
            user,
            Frame(function: "rust_sessions::handle_request", file: "/src/rust_sessions.rs", line: 26, module: rustProgram, address: 0x50),
        ]
        XCTAssertEqual(AllocatorFrames.fold(expanded).first, user)
        // One frame per return address: the program's function keeps its frame
        // (its line is the inlined library code's, as the symbolizer had it).
        let collapsed = Frame(function: "rust_sessions::open_session", file: "\(rustLibrary)/alloc/src/alloc.rs", line: 95, module: rustProgram, address: 0x40)
        XCTAssertEqual(AllocatorFrames.fold([expanded[0], collapsed, expanded[8]]).first, collapsed)
        // Inline levels without a name (no linkage name in the debug info): the file tells.
        XCTAssertTrue(isFolded(nil, file: "\(rustLibrary)/alloc/src/raw_vec/mod.rs", module: rustProgram))
        XCTAssertTrue(isFolded(nil, file: "library/core/src/ptr/mod.rs", module: rustProgram))
        XCTAssertTrue(isFolded(nil, file: "/usr/src/rustc-1.63.0/library/alloc/src/vec/mod.rs", module: rustProgram))
        XCTAssertTrue(isFolded(nil, file: "/rust/deps/hashbrown-0.16.1/src/raw/mod.rs", module: rustProgram))
        XCTAssertFalse(isFolded(nil, file: "/src/rust_sessions.rs", module: rustProgram))
    }

    func testRustLibraryNames() {
        for name in [
            "__rust_alloc", "__rustc::__rust_alloc", "__rdl_alloc", "__rg_alloc", "__rust_realloc",
            "alloc::raw_vec::finish_grow", "<alloc::raw_vec::RawVec<alloc::vec::Vec<u8>>>::grow_one",
            "<alloc::raw_vec::RawVecInner<_>>::reserve::do_reserve_and_handle::<alloc::alloc::Global>",
            "hashbrown::raw::RawTable<T,A>::reserve_rehash", "<hashbrown::raw::RawTable<T,A> as core::ops::drop::Drop>::drop",
            "std::rt::lang_start_internal", "std::rt::lang_start::{{closure}}", "std::rt::lang_start::<()>",
            "<str>::to_owned", "<[u8]>::to_vec", "<T as alloc::string::ToString>::to_string",
            "<alloc::string::String as core::clone::Clone>::clone",
            "<&rust_sessions::Session as core::fmt::Display>::fmt",
        ] {
            XCTAssertTrue(isFolded(name, module: rustProgram), name)
        }
        for name in [
            "rust_sessions::open_session", "rust_sessions::main::{closure#0}", "main",
            "<rust_sessions::Session>::new",
            // The program's impl of a library trait, and a library type's impl of a program trait.
            "<rust_sessions::Session as core::clone::Clone>::clone",
            "<alloc::vec::Vec<u8> as rust_sessions::Encode>::encode",
            "<rust_sessions::Cache<alloc::string::String>>::insert",
        ] {
            XCTAssertFalse(isFolded(name, file: "/src/rust_sessions.rs", module: rustProgram), name)
        }
        // A library trait's default method instantiated for a program type: its file is the library's.
        XCTAssertTrue(isFolded("<rust_sessions::Sessions as core::iter::traits::iterator::Iterator>::collect::<alloc::vec::Vec<u8>>",
                               file: "\(rustLibrary)/core/src/iter/traits/iterator.rs", module: rustProgram))
        XCTAssertTrue(isFolded("x", module: "/app/lib/libstd-0f12a3b4c5d6e7f8.so"))
        XCTAssertFalse(isFolded("x", module: "/app/lib/libstdx.so"))
    }

    func testRawKeepsTheStandardLibraryFrames() {
        let stack = [
            Frame(function: "operator new(unsigned long)", module: libstdcxx, address: 1),
            Frame(function: "std::__new_allocator<long>::allocate(unsigned long, void const*)",
                  file: "/usr/include/c++/12/bits/new_allocator.h", line: 137, module: program, address: 2),
            Frame(function: "open_session(long)", file: "/src/std_cxx.cpp", line: 37, module: program, address: 3),
        ]
        let snapshot = makeSnapshot([(stack, 1024, 1)])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .traceback, options: AnalysisOptions()).map(\.traceback), [[stack[2]]])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .traceback, options: AnalysisOptions(raw: true)).map(\.traceback), [stack])
    }
}
