// swift-tools-version:6.0
// The libFuzzer targets of swiftleak's decoders. Build and run them only
// through Scripts/fuzz, which passes `-sanitize=fuzzer,address` for every
// module: coverage inside LeakModel and LeakEvents is what guides libFuzzer.
//
// A package of its own, so the main build never links libFuzzer. The decoder
// modules are the main package's own source folders, reached by symlinks in
// Sources/ (SwiftPM follows them): a path dependency on "../.." would need
// library products in the main manifest and an identity that SwiftPM takes
// from the checkout's folder name, which nobody controls (a checkout named
// "fuzz" clashes with this package outright). Keep the module graph below in
// step with the main Package.swift.
import PackageDescription

let package = Package(
    name: "swiftleak-fuzz",
    targets: [
        .target(name: "CLeakProtocol"),
        .target(name: "LeakModel"),
        // Without the main build's `-enforce-exclusivity=unchecked`: the
        // runtime exclusivity checks are one more thing the fuzzer can trip.
        .target(name: "LeakEvents", dependencies: ["CLeakProtocol"]),
        // Starts libFuzzer from a fuzz target's own `main`.
        .target(name: "CFuzzerDriver"),
        // Snapshot files: SnapshotCodec.decode and its BinaryReader.
        .executableTarget(name: "SnapshotFuzzer", dependencies: ["LeakModel", "CFuzzerDriver"]),
        // The agent's event stream: EventDecoder fed in arbitrary chunks.
        .executableTarget(name: "EventStreamFuzzer", dependencies: ["LeakEvents", "CFuzzerDriver"]),
    ],
    swiftLanguageModes: [.v5]
)
