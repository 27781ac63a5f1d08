import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TallyCore
import TallyFiles
import TallyStore

/// Sends the host's usage report to the vendor once a day while it serves (``ReportSchedule``), when
/// `report-sending` is on and a vendor URL is known: the same exchange as `tally host report --send` (every report
/// not yet acknowledged, else the next one, up to yesterday), whose receipts are checked and kept and each
/// acknowledgement logged as event 12303. A failure is logged with its code and retried with backoff; like
/// renewal it runs in this service's own task, and a reload wakes it.
public final class UsageReportService: Service, Sendable {
    /// One round: what was acknowledged, or why nothing was.
    public struct Round: Sendable {
        public var time: Date
        /// The `seq` of each report the vendor acknowledged in this round (empty: nothing to send).
        public var acknowledged: [Int]
        public var failure: ResultCode?
        public var message: String?
        public var next: Date?
    }

    let directory: StateDirectory
    let state: ActivationState
    let store: any HostStore
    let clock: HostClock
    let logger: Logger
    let access: VendorAccess
    private let wake = AsyncSignal()
    private let schedule: NIOLockedValueBox<(ReportSchedule, next: Date)?> = NIOLockedValueBox(nil)
    private let continuation: AsyncStream<Round>.Continuation
    /// Every round that tried to send, newest kept when nobody reads.
    public let rounds: AsyncStream<Round>

    init(directory: StateDirectory, state: ActivationState, store: any HostStore, clock: HostClock, logger: Logger, access: VendorAccess) {
        self.directory = directory
        self.state = state
        self.store = store
        self.clock = clock
        self.logger = logger
        self.access = access
        (rounds, continuation) = AsyncStream.makeStream(of: Round.self, bufferingPolicy: .bufferingNewest(32))
    }

    public func run() async throws {
        await clock.repeatRounds(wake: wake) { await self.round() }
        continuation.finish()
    }

    /// Looks again now (a reload).
    public func wakeUp() { wake.signal() }

    /// Sends when the day's time has come; returns when to look again, `nil` to wait for a reload (sending off,
    /// no vendor URL, the host not activated).
    func round() async -> Date? {
        let now = clock.now()
        let settings = state.settings
        guard settings.reportSending, state.certificate != nil, let hostID = try? HostIdentity(directory: directory).info().hostID,
              let url = VendorAccess.url(settings: settings, directory: directory) else { return nil }
        let due = schedule.withLockedValue { entry -> Date in
            if entry == nil {
                let schedule = ReportSchedule(hostID: hostID)
                entry = (schedule, schedule.next(after: now))
            }
            return entry!.next
        }
        guard now >= due else { return due }
        do {
            let online = HostOnline(directory: directory, settings: try access.connection(settings: settings, directory: directory))
            let sent = try await online.sendReports(url: url, store: store, now: now)
            let next = reschedule(now: now) { $0.sent(now: now) }
            if !sent.isEmpty {
                logger.notice("usage reports acknowledged", metadata: ["seq": "\(sent.map(\.seq))", "vendor": "\(url)", "event": "12303"])
            }
            continuation.yield(Round(time: now, acknowledged: sent.map(\.seq), next: next))
            return next
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.usageError, "\(error)")
            let next = reschedule(now: now) { $0.failed(failure.code, now: now) }
            logger.warning("sending the usage report failed", metadata: ["code": "\(failure.code)", "error": "\(failure.message)",
                                                                        "remedy": "\(failure.remedy)", "next": "\(next)"])
            continuation.yield(Round(time: now, acknowledged: [], failure: failure.code, message: failure.message, next: next))
            return next
        }
    }

    private func reschedule(now: Date, _ step: (inout ReportSchedule) -> Date) -> Date {
        schedule.withLockedValue { entry -> Date in
            guard var current = entry else { return now.addingTimeInterval(86_400) }
            let next = step(&current.0)
            entry = (current.0, next)
            return next
        }
    }
}
