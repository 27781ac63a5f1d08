import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open files (`RLIMIT_NOFILE`) and what it leaves for connections: every connection is a
/// descriptor, and a host that runs out of them cannot even refuse (accept fails, and clients wait in the backlog).
/// At start the soft limit is raised to the hard one, and `max-connections` lowered to what the limit allows.
public struct FileLimit: Sendable, Equatable {
    /// Descriptors kept for everything that is not an activation connection: the store's files, the admin port
    /// and its connections (64), DNS, logs, and connections accepted only to be refused.
    public static let reserved = 192

    public var soft: UInt64
    public var hard: UInt64

    public init(soft: UInt64, hard: UInt64) {
        self.soft = soft
        self.hard = hard
    }

    /// The process's limit now.
    public static func current() -> FileLimit? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return FileLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one; returns the limit in force afterwards.
    public static func raiseSoftToHard() -> FileLimit? {
        guard var limit = current() else { return nil }
        if limit.soft < limit.hard {
            var raised = rlimit(rlim_cur: rlim_t(limit.hard), rlim_max: rlim_t(limit.hard))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit.soft = limit.hard }
        }
        return limit
    }

    /// The connections this limit allows when `asked` are configured: `asked`, or less when the soft limit less the
    /// reserve is below it (at least 1).
    public func connections(asked: Int) -> Int {
        let available = soft > UInt64(FileLimit.reserved) ? soft - UInt64(FileLimit.reserved) : 1
        return available < UInt64(asked) ? max(1, Int(available)) : asked
    }

    /// Raises the soft limit and returns the connections the host can hold, logging what it did.
    public static func prepare(maxConnections: Int, logger: Logger) -> Int {
        let before = current()
        guard let limit = raiseSoftToHard() else {
            logger.warning("could not read the open-file limit (RLIMIT_NOFILE); max-connections is taken as set",
                           metadata: ["maxConnections": "\(maxConnections)"])
            return maxConnections
        }
        if let before, before.soft < limit.soft {
            logger.info("raised the open-file limit to its hard limit", metadata: ["from": "\(before.soft)", "to": "\(limit.soft)"])
        }
        let allowed = limit.connections(asked: maxConnections)
        if allowed < maxConnections {
            logger.warning("max-connections lowered to what the open-file limit allows", metadata: [
                "maxConnections": "\(maxConnections)", "lowered": "\(allowed)", "openFileLimit": "\(limit.soft)",
                "reserved": "\(FileLimit.reserved)",
                "remedy": "raise the limit (LimitNOFILE= in the systemd unit, ulimit -n) or lower max-connections",
            ])
        }
        return allowed
    }
}
