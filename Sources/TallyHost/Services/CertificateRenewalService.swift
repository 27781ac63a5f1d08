import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TallyCore
import TallyFiles
import TallyStore

/// Renews the host's certificate online while it serves, before it expires (``RenewalSchedule``), and applies the
/// new one at once by swapping the signer as SIGHUP does: the next answer carries the new certificate, no restart.
///
/// Each attempt is event 12301 (renewed) or 12302 (failed, with the code, the reason and the next attempt). A
/// vendor that cannot be reached is tried again with backoff, a refusal (a blocked key) a day later. The attempt
/// runs in this service's own task, so activations and the rest of the host are never waiting for the vendor.
/// A host that knows no vendor URL (activated offline, no `vendor-url`) never asks; a reload wakes the service so
/// a changed setting or a certificate installed by hand is taken into account at once.
public final class CertificateRenewalService: Service, Sendable {
    /// One attempt: what a test or the log sees.
    public struct Attempt: Sendable {
        public var time: Date
        /// The new certificate's serial, when it worked.
        public var serial: Int?
        public var expires: Date?
        /// The failure's code, when it did not.
        public var failure: ResultCode?
        public var message: String?
        /// When the service looks again.
        public var next: Date?
    }

    let directory: StateDirectory
    let state: ActivationState
    let store: any HostStore
    let clock: HostClock
    let logger: Logger
    let access: VendorAccess
    /// Installs the renewed certificate in the running host (``HostRuntime/reloadCertificate()``).
    let apply: @Sendable () throws -> Void
    private let wake = AsyncSignal()
    private let schedule: NIOLockedValueBox<RenewalSchedule?> = NIOLockedValueBox(nil)
    private let continuation: AsyncStream<Attempt>.Continuation
    /// Every attempt, newest kept when nobody reads (tests read them to follow the service).
    public let attempts: AsyncStream<Attempt>

    init(directory: StateDirectory, state: ActivationState, store: any HostStore, clock: HostClock, logger: Logger, access: VendorAccess,
         apply: @escaping @Sendable () throws -> Void) {
        self.directory = directory
        self.state = state
        self.store = store
        self.clock = clock
        self.logger = logger
        self.access = access
        self.apply = apply
        (attempts, continuation) = AsyncStream.makeStream(of: Attempt.self, bufferingPolicy: .bufferingNewest(32))
    }

    public func run() async throws {
        await clock.repeatRounds(wake: wake) { await self.round() }
        continuation.finish()
    }

    /// Looks again now (a reload: settings or the certificate may have changed).
    public func wakeUp() { wake.signal() }

    /// Renews when due; returns when to look again, `nil` to wait for a reload (nothing to renew, or no vendor URL).
    func round() async -> Date? {
        let now = clock.now()
        let settings = state.settings
        let identity = HostIdentity(directory: directory)
        guard let hostID = try? identity.info().hostID, let claims = try? identity.installedCertificateClaims() else { return nil }
        guard let url = VendorAccess.url(settings: settings, directory: directory) else {
            logger.debug("no vendor URL: the certificate is renewed by hand (`tally host activate --offline-request`)")
            return nil
        }
        let expires = claims.exp.date
        let next = schedule.withLockedValue { schedule -> Date in
            if schedule == nil { schedule = RenewalSchedule(hostID: hostID) }
            schedule!.marginDays = settings.renewalMarginDays
            return schedule!.nextAttempt(expires: expires)
        }
        guard now >= next else { return next }
        return await attempt(url: url, settings: settings, expires: expires, now: now)
    }

    private func attempt(url: String, settings: HostSettings, expires: Date, now: Date) async -> Date? {
        logger.info("renewing the host certificate", metadata: ["vendor": "\(url)", "expires": "\(expires)"])
        do {
            let online = HostOnline(directory: directory, settings: try access.connection(settings: settings, directory: directory))
            let result = try await online.renew(url: url, now: now)
            // As SIGHUP: the signer is swapped, so the next answer carries the new certificate.
            try apply()
            let newExpires = result.certificate.expires
            let next = schedule.withLockedValue { schedule -> Date in
                schedule?.renewed(expires: newExpires, now: now)
                return schedule?.nextAttempt(expires: newExpires) ?? newExpires
            }
            try? await store.append([HostOnline.renewedEvent(result, now: now, fields: ["next": Self.iso(next)])])
            logger.notice("host certificate renewed", metadata: ["serial": "\(result.certificate.claims.serial)", "expires": "\(newExpires)",
                                                                "event": "12301"])
            continuation.yield(Attempt(time: now, serial: result.certificate.claims.serial, expires: newExpires, next: next))
            return next
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.usageError, "\(error)")
            let next = schedule.withLockedValue { $0?.failed(failure.code, expires: expires, now: now) } ?? now.addingTimeInterval(RetryBackoff.afterRefusal)
            try? await store.append([HostOnline.renewalFailedEvent(failure, now: now, fields: ["next": Self.iso(next), "vendor": url])])
            logger.warning("host certificate renewal failed", metadata: ["code": "\(failure.code)", "error": "\(failure.message)",
                                                                        "next": "\(Self.iso(next))", "event": "12302"])
            continuation.yield(Attempt(time: now, failure: failure.code, message: failure.message, next: next))
            return next
        }
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
