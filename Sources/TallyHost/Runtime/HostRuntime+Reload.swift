import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyStore

/// What a reload (SIGHUP) did.
public struct ReloadOutcome: Sendable, Equatable {
    /// The settings that changed, and when each applies.
    public var settings: HostSettingsChange
    /// Whether the admin token was replaced (every admin session ended).
    public var adminTokenReplaced: Bool
}

extension HostRuntime {
    /// Re-reads the settings, the certificate and the admin token. A bad settings file is reported and the old
    /// settings stay; a changed DNS setting re-publishes at once. What changed is logged before the certificate
    /// and the token are read, so a problem with either does not hide it.
    public func reload() async throws -> ReloadOutcome {
        let settings = try HostSettings.load(from: directory)
        let change = HostSettingsChange(from: state.settings, to: settings)
        // Settings that need a restart keep the value the host runs with, so the next reload reports them again.
        state.update(settings: change.effective)
        change.log(to: logger)
        // A changed DNS setting is published now, not at the next 24-hour round.
        if change.applied.contains(where: { $0.hasPrefix("dns-") || $0 == "low-priority" }) { republisher?.republishNow() }
        try reloadCertificate()
        // The certificate or the vendor settings may have changed: renewal and reports look again now (and join
        // the group if a vendor URL is known for the first time).
        await startVendorServicesIfNeeded()
        renewal.wakeUp()
        reports.wakeUp()
        var replaced = false
        if let admin {
            // admin-listen, and turning the token on or off, apply at the next start (the effective settings keep them).
            replaced = try admin.access.reload(tokenFile: change.effective.adminTokenFile, directory: directory)
        }
        return ReloadOutcome(settings: change, adminTokenReplaced: replaced)
    }

    /// Reads the installed certificate and swaps the signer: the next answer is signed with, and carries, it
    /// (SIGHUP, and the renewal service after a renewal).
    public func reloadCertificate() throws {
        try HostRuntime.reloadCertificate(directory: directory, state: state, clock: clock, logger: logger)
    }

    static func reloadCertificate(directory: StateDirectory, state: ActivationState, clock: HostClock, logger: Logger) throws {
        try state.update(certificate: try HostRuntime.certificateOrNil(HostIdentity(directory: directory), clock: clock, logger: logger))
    }

    /// SIGHUP: reloads and says what it did.
    func reloadAndLog() async {
        do {
            let outcome = try await reload()
            logger.notice("settings and certificate reloaded")
            if outcome.adminTokenReplaced { logger.notice("admin token replaced; every admin session ended") }
        } catch {
            logger.error("reload failed; what could not be read stays as it was", metadata: ["error": "\(error)"])
        }
    }
}

extension DNSRepublisher {
    /// The re-publisher for a serving host: settings read from the state directory each round, events into the
    /// host's store, the port the activation server really listens on.
    static func forHost(directory: StateDirectory, store: any HostStore, port: Int, clock: HostClock, logger: Logger,
                        metrics: HostMetrics) -> DNSRepublisher {
        DNSRepublisher(store: store, report: { outcomes in
            for outcome in outcomes { metrics.recordDNSPublish(domain: outcome.domain, succeeded: outcome.succeeded) }
        }) {
            guard let settings = try? HostSettings.load(from: directory), settings.dnsPublishing else { return nil }
            return DNSPublisher(directory: directory, settings: settings, port: port, clock: { clock.now() }, logger: logger)
        }
    }
}

extension HostRuntime {
    /// The outcomes of each round of the serving host's DNS re-publisher (at start, every 24 h, after a reload
    /// that changed a DNS setting); `nil` when the host was started without publishing.
    public var dnsRounds: AsyncStream<[DNSPublishOutcome]>? { republisher?.rounds }

    /// One round of the serving host's DNS publishing now, from the current settings (what the re-publisher
    /// does every 24 h and after a reload that changed a DNS setting); nothing when publishing is off.
    public func publishDNSOnce() async -> [DNSPublishOutcome] {
        let republisher = DNSRepublisher.forHost(directory: directory, store: store, port: address.port, clock: clock, logger: logger,
                                                 metrics: metrics)
        let outcomes = await republisher.makePublisher()?.publish(recordingIn: store) ?? []
        republisher.report(outcomes)
        return outcomes
    }
}
