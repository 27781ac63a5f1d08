// swift-tools-version: 6.1
import PackageDescription

/// Every target uses Swift 6 language mode with the same upcoming features.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// Linux only (Debian 12 is what CI builds and tests): TallyHost's AdminClient and TallyLoad use Glibc's socket
// constants (`SOCK_STREAM.rawValue`, `MSG_NOSIGNAL`), so no Apple platform is claimed. TallyCore, TallyFiles,
// TallyDNS and TallyClient are written for Darwin too, but nothing builds them there.
let package = Package(
    name: "Tally",
    products: [
        .library(name: "TallyClient", targets: ["TallyClient"]),
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .executable(name: "tally", targets: ["tally"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The rules and formats: no I/O.
        .target(
            name: "TallyCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Small file helpers shared by client, host and vendor: atomic writes, locks, secret files.
        .target(
            name: "TallyFiles",
            dependencies: ["TallyCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyVendor",
            dependencies: ["TallyCore", "TallyFiles", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // `tally vendor serve`: the vendor's online authority over TLS. Its own target, so neither the vendor's
        // library nor the client library pulls in NIO or TLS.
        .target(
            name: "TallyVendorServer",
            dependencies: [
                "TallyCore", "TallyVendor",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A host's calls to the vendor's online service: HTTPS with NIO and NIOSSL, through a CONNECT proxy.
        .target(
            name: "TallyVendorLink",
            dependencies: [
                "TallyCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyStore",
            dependencies: ["TallyCore", .product(name: "GRDB", package: "GRDB.swift"),
                           // SQLite's C API, for the statements run once per request (BoundStatement).
                           .product(name: "GRDBSQLite", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyHost",
            dependencies: [
                "TallyCore", "TallyDNS", "TallyFiles", "TallyStore",
                "TallyVendorLink",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // DNS on the wire: RFC 1035 messages, resolv.conf, a UDP/TCP stub resolver, RFC 2782 SRV selection,
        // RFC 2136 updates signed with TSIG. POSIX sockets only, so the client library stays small.
        .target(
            name: "TallyDNS",
            dependencies: ["TallyCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // epoll and timerfd for the load driver (Swift's Glibc module does not export them).
        .target(name: "CTallyLoad"),
        // `tally bench`: host binaries set up by their own CLI and run as processes, an epoll load driver over
        // loopback, /proc and wait4 readers, and the report.
        .target(
            name: "TallyLoad",
            dependencies: ["CTallyLoad", "TallyCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // What a vendor's application embeds: never the host, store or vendor targets.
        .target(
            name: "TallyClient",
            dependencies: ["TallyCore", "TallyFiles", "TallyDNS"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tally",
            dependencies: [
                "TallyCore", "TallyFiles", "TallyVendor", "TallyHost", "TallyClient", "TallyLoad", "TallyStore",
                "TallyVendorServer", "TallyVendorLink",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyCoreTests",
            dependencies: ["TallyCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Fixtures shared by the test targets: a vendor and an activated host in temporary directories, raw HTTP.
        .target(
            name: "TallyTestSupport",
            dependencies: ["TallyCore", "TallyFiles", "TallyVendor", "TallyHost", "TallyStore", .product(name: "Logging", package: "swift-log"),
                           .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/TallyTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyHostTests",
            dependencies: ["TallyCore", "TallyFiles", "TallyVendor", "TallyHost", "TallyStore", "TallyTestSupport",
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // A throwaway PostgreSQL 15 cluster per suite: initdb and pg_ctl as the `postgres` user, on a free port.
        .target(
            name: "TallyPostgresTestSupport",
            path: "Tests/TallyPostgresTestSupport",
            swiftSettings: swiftSettings
        ),
        // The store interface's contract, one set of test bodies run against SQLite and PostgreSQL.
        .testTarget(
            name: "TallyStoreContractTests",
            dependencies: ["TallyCore", "TallyStore", "TallyHost", "TallyTestSupport", "TallyPostgresTestSupport",
                           .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyVendorTests",
            dependencies: ["TallyCore", "TallyFiles", "TallyVendor", "TallyHost", "TallyTestSupport"],
            swiftSettings: swiftSettings
        ),
        // The online vendor over real TLS on loopback: activation, renewal, receipts, proxies, a vendor that is down.
        .testTarget(
            name: "TallyOnlineTests",
            dependencies: ["TallyCore", "TallyFiles", "TallyVendor", "TallyVendorServer", "TallyVendorLink", "TallyHost", "TallyStore",
                           "TallyTestSupport", "TallyDNSTestSupport", "TallyPostgresTestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyClientTests",
            dependencies: ["TallyClient", "TallyCore", "TallyFiles", "TallyVendor", "TallyHost", "TallyStore", "TallyTestSupport"],
            swiftSettings: swiftSettings
        ),
        // BIND 9 on loopback for tests: named with a TSIG-updatable zone, dig, nsupdate; silent and stalled sockets.
        .target(
            name: "TallyDNSTestSupport",
            dependencies: ["TallyDNS"],
            path: "Tests/TallyDNSTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyDNSTests",
            dependencies: ["TallyCore", "TallyDNS", "TallyDNSTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The DNS scenarios: hosts publishing into BIND and clients discovering them.
        .testTarget(
            name: "TallyDNSIntegrationTests",
            dependencies: ["TallyCore", "TallyDNS", "TallyDNSTestSupport", "TallyFiles", "TallyHost", "TallyStore", "TallyClient",
                           "TallyTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyLoadTests",
            dependencies: ["TallyLoad", "TallyCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyCLITests",
            dependencies: ["TallyCore", "TallyFiles", "TallyHost", "TallyDNS", "TallyDNSTestSupport", "TallyTestSupport", "TallyPostgresTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
