import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension PostgresCluster {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<PostgresCluster, any Error>?
    // nonisolated(unsafe): read and written only under `lock`.

    /// The test process's cluster, started on first use and stopped when the process exits; each test makes a
    /// database of its own in it (``makeDatabase(_:)``), so tests do not see each other's data.
    public static func shared() throws -> PostgresCluster {
        lock.lock()
        defer { lock.unlock() }
        if let started { return try started.get() }
        let result = Result { try PostgresCluster() }
        started = result
        if case .success = result { atexit { PostgresCluster.stopShared() } }
        return try result.get()
    }

    private static func stopShared() {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let cluster) = started { cluster.stop() }
        started = nil
    }

    /// A database name no other test of this process uses.
    public static func uniqueDatabase(_ label: String = "t") -> String {
        "\(label)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
    }
}
