// swift-tools-version:5.9
// A line-based TCP server on SwiftNIO with a known leak, for swiftleak's
// attach tests (Tests/IntegrationTests/ServerAttachTests.swift). Built by
// Scripts/build-fixtures into <repo>/.build-nio.
import PackageDescription

let package = Package(
    name: "NIOServer",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "NIOServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // Debug info in the release build: the tests read function names
            // and the leak site must stay a frame of its own.
            swiftSettings: [.unsafeFlags(["-g"])]
        ),
    ]
)
