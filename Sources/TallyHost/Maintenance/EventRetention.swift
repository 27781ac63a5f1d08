import Foundation
import Logging
import ServiceLifecycle
import TallyCore
import TallyFiles
import TallyStore

/// Retention, when the host starts and once a day while it serves, so the store does not grow forever: events
/// older than `event-retention-days` (default 400) are deleted, and clients and sightings whose machine last
/// asked more than `report-retention-days` ago (default 400; usage reports read sightings, and cannot reach
/// further back).
public struct EventRetention: Service {
    public static let interval: Duration = .seconds(24 * 3600)

    public var store: any HostStore
    public var directory: StateDirectory
    public var clock: HostClock
    public var logger: Logger

    public init(store: any HostStore, directory: StateDirectory, clock: HostClock, logger: Logger) {
        self.store = store
        self.directory = directory
        self.clock = clock
        self.logger = logger
    }

    /// The oldest time kept for `days` of retention at `now`.
    public static func cutoff(now: Date, days: Int) -> Date {
        now.addingTimeInterval(-Double(max(1, days)) * 86_400)
    }

    /// The oldest day whose clients and sightings are kept at `now` with `days` of report retention.
    public static func firstReportDay(now: Date, days: Int) -> Int {
        CountWindow.day(of: now) - max(Intervals.countWindowDays, days)
    }

    /// Deletes what is older than the retention the settings ask for now; returns how many events went.
    @discardableResult
    public func sweep() async throws -> Int {
        let settings = (try? HostSettings.load(from: directory)) ?? HostSettings()
        let now = clock.now()
        let deleted = try await store.deleteEvents(before: EventRetention.cutoff(now: now, days: settings.eventRetentionDays))
        if deleted > 0 { logger.info("deleted old events", metadata: ["events": "\(deleted)", "retentionDays": "\(settings.eventRetentionDays)"]) }
        let clients = try await store.deleteClients(before: EventRetention.firstReportDay(now: now, days: settings.reportRetentionDays))
        if clients > 0 {
            logger.info("deleted clients that last asked before the report retention", metadata: [
                "clients": "\(clients)", "retentionDays": "\(settings.reportRetentionDays)",
            ])
        }
        return deleted
    }

    /// Sweeps after every `interval` until graceful shutdown or cancellation (the start-up sweep is the
    /// runtime's), or until `rounds` rounds have run. The wait is an input, so tests run rounds without a timer.
    public func run(interval: Duration = EventRetention.interval, rounds: Int? = nil,
                    wait: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) async {
        var done = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await wait(interval)
            } catch {
                return
            }
            do {
                try await sweep()
            } catch {
                logger.error("event retention failed", metadata: ["error": "\(error)"])
            }
            done += 1
            if let rounds, done >= rounds { return }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await run(interval: EventRetention.interval, rounds: nil) }
    }
}
