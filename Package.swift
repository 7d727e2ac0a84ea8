// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Kring",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kring", targets: ["kring"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "KringCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringDatabase",
            dependencies: [
                "KringCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringAuth",
            dependencies: [
                "KringCore",
                "KringDatabase",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringB2C",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringAuth",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringB2B",
            dependencies: [
                "KringCore",
                "KringDatabase",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringCampaigns",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringB2C",
                "KringB2B",
                "KringMail",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringInsight",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringCampaigns",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringMail",
            dependencies: [
                "KringCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringServer",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringAuth",
                "KringB2C",
                "KringB2B",
                "KringCampaigns",
                "KringInsight",
                "KringMail",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringWeb",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringAuth",
                "KringB2C",
                "KringB2B",
                "KringCampaigns",
                "KringInsight",
                "KringServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kring",
            dependencies: [
                "KringCore",
                "KringDatabase",
                "KringAuth",
                "KringServer",
                "KringWeb",
                "KringB2B",
                "KringCampaigns",
                "KringInsight",
                "KringB2C",
                "KringMail",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KringTestSupport",
            dependencies: [
                "KringDatabase",
                "KringCampaigns",
                "KringAuth",
                "KringServer",
                "KringWeb",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Tests/KringTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "KringCoreTests", dependencies: ["KringCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KringInsightTests",
            dependencies: ["KringInsight", "KringTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings),
        .testTarget(name: "KringDatabaseTests", dependencies: ["KringDatabase", "KringTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KringAuthTests", dependencies: ["KringAuth", "KringTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KringB2CTests",
            dependencies: ["KringB2C", "KringTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "KringServerTests",
            dependencies: [
                "KringServer", "KringB2C", "KringB2B", "KringCampaigns", "KringTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KringWebTests",
            dependencies: [
                "KringWeb", "KringServer", "KringB2C", "KringB2B", "KringCampaigns", "KringInsight", "KringMail", "KringTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "KringB2BTests", dependencies: ["KringB2B", "KringTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KringCampaignsTests",
            dependencies: ["KringCampaigns", "KringB2C", "KringTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "KringMailTests",
            dependencies: ["KringMail", "KringB2C", "KringTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings),
    ]
)
