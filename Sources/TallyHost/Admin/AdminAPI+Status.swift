import Foundation
import TallyCore
import TallyStore

/// `GET /api/status`: the host's `dli` (what `tally host status` prints) plus what only the running host knows.
public struct AdminStatus: Codable, Sendable {
    public struct LiveCount: Codable, Sendable, Equatable {
        public var currentCount: Int
        public var requiredCount: Int

        public init(currentCount: Int, requiredCount: Int) {
            self.currentCount = currentCount
            self.requiredCount = requiredCount
        }
    }

    public var report: HostStatusReport
    /// The in-memory count per class, at the host's time.
    public var live: [String: LiveCount]
    /// The activation port actually bound (the real port when 0 was asked).
    public var activationAddress: String
    public var startedAt: Date
    public var hostTime: Date
    public var clients: Int
    /// Group-commit batch sizes so far: size → batches.
    public var batchSizes: [String: Int]
}

extension AdminContext {
    func status() async throws -> AdminStatus {
        let now = clock.now()
        let report = try await HostStatusReport.read(directory: directory, now: now, store: store)
        var live: [String: AdminStatus.LiveCount] = [:]
        for (productClass, count) in try await counts() {
            live[productClass] = AdminStatus.LiveCount(currentCount: count.current, requiredCount: count.required)
        }
        return AdminStatus(report: report, live: live, activationAddress: activationAddress.description, startedAt: startedAt, hostTime: now,
                           clients: try await store.clientCount(),
                           batchSizes: Dictionary(uniqueKeysWithValues: pipeline.batchSizes().map { (String($0.key), $0.value) }))
    }
}
