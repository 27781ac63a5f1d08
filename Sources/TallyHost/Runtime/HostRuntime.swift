import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TallyCore
import TallyFiles
import TallyStore

/// A running host: identity, store, activation service and the activation port, started and stopped together.
public final class HostRuntime: Sendable {
    public let directory: StateDirectory
    public let store: SQLiteHostStore
    public let service: ActivationService
    public let server: HostServer
    public let clock: HostClock
    let logger: Logger
    /// Prometheus metrics of this host (`/metrics`); the DNS publisher reports through ``HostMetrics/recordDNSPublish(domain:succeeded:)``.
    public let metrics: HostMetrics
    public let clones: CloneDetector
    /// The admin interface; `nil` when started with `adminListen: "none"`.
    public let admin: AdminServer?
    private let retention: Task<Void, Never>
    private let stopping = NIOLockedValueBox(false)
    /// The settings in force (settings table, issue 9 item 3): SIGHUP applies the new file to them, except the
    /// settings that need a restart, which keep the values the host started with.
    private let settings: NIOLockedValueBox<HostSettings>

    public static let storeFile = "host.sqlite"

    /// Opens the store, loads the count, and starts listening: the activation port, and the admin interface on
    /// `adminListen` (the settings' `admin-listen` when `nil`, none at all for `"none"`). A failure is logged as
    /// event 12291 where the store can be written, and thrown.
    public static func start(directory: StateDirectory, listen: String? = nil, adminListen: String? = nil, clock: HostClock = HostClock(),
                             logger: Logger = Logger(label: "tally.host"), threads: Int = System.coreCount) async throws -> HostRuntime {
        let identity = HostIdentity(directory: directory)
        var store: SQLiteHostStore?
        do {
            _ = try identity.info()
            let settings = try HostSettings.load(from: directory)
            store = try SQLiteHostStore(path: directory.file(storeFile).path)
            // The admin rule is checked before anything listens (and after the store opened, so a refusal is
            // event 12291): a non-loopback address needs a token file.
            let adminText = adminListen ?? settings.adminListen
            let adminAddress = ["none", "off"].contains(adminText) ? nil : try BindAddress(adminText)
            let access = try adminAddress.map { try AdminAccess.load(address: $0, tokenFile: settings.adminTokenFile, directory: directory, clock: clock) }
            let synchronous = try store!.synchronousMode()
            logger.info("store opened", metadata: ["path": "\(store!.path)", "journal": "wal", "synchronous": "\(synchronous)"])
            let retention = EventRetention(store: store!, directory: directory, clock: clock, logger: logger)
            try retention.sweep()
            if settings.walCheckpoint == "background" { try store!.startBackgroundCheckpoints() }
            let certificate = try certificateOrNil(identity, clock: clock, logger: logger)
            let metrics = HostMetrics()
            let clones = CloneDetector(store: store!, logger: logger) { _ in metrics.recordClone() }
            let service: ActivationService
            do {
                service = try ActivationService(store: store!, key: identity.signingKey(), certificate: certificate,
                                                settings: settings, clock: clock, logger: logger,
                                                observer: ActivationObservers([metrics, clones]))
            } catch {
                clones.stop()
                throw error
            }
            // Parsed before the service starts, so a bad address leaves no thread behind.
            let address = try BindAddress(listen ?? settings.listen)
            service.start()
            var server: HostServer?
            do {
                server = try await HostServer.start(address: address, service: service, logger: logger, threads: threads,
                                                    limits: ConnectionLimits(settings: settings))
                let admin = try await startAdmin(adminAddress, access: access, directory: directory, store: store!, service: service,
                                                 metrics: metrics, clock: clock, activationAddress: server!.address, logger: logger)
                let sweeper = Task { await retention.run() }
                return HostRuntime(directory: directory, store: store!, service: service, server: server!, clock: clock, logger: logger,
                                   metrics: metrics, clones: clones, admin: admin, retention: sweeper, settings: settings)
            } catch {
                service.stop()
                clones.stop()
                await server?.shutdown()
                throw error
            }
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.usageError, "\(error)")
            store?.stopBackgroundCheckpoints()
            logger.error("host failed to start", metadata: ["code": "\(failure.code)", "error": "\(failure.message)"])
            try? store?.append([TallyEvent(id: .hostStartFailed, time: clock.now(), result: failure.code,
                                             fields: ["message": failure.message, "remedy": failure.remedy])])
            throw failure
        }
    }

    /// The admin interface beside the activation port, and `admin.json` saying where it is.
    private static func startAdmin(_ address: BindAddress?, access: AdminAccess?, directory: StateDirectory, store: SQLiteHostStore,
                                   service: ActivationService, metrics: HostMetrics, clock: HostClock, activationAddress: BindAddress,
                                   logger: Logger) async throws -> AdminServer? {
        guard let address, let access else { return nil }
        let context = AdminContext(directory: directory, store: store, service: service, metrics: metrics, clock: clock,
                                   access: access, activationAddress: activationAddress, startedAt: clock.now())
        let admin = try await AdminServer.start(address: address, router: AdminRouter(context: context), logger: logger)
        do {
            try AdminEndpoint(address: admin.address.description, tokenRequired: access.requiresToken).write(to: directory)
        } catch {
            await admin.shutdown()
            throw error
        }
        return admin
    }

    private init(directory: StateDirectory, store: SQLiteHostStore, service: ActivationService, server: HostServer, clock: HostClock, logger: Logger,
                 metrics: HostMetrics, clones: CloneDetector, admin: AdminServer?, retention: Task<Void, Never>, settings: HostSettings) {
        self.settings = NIOLockedValueBox(settings)
        self.metrics = metrics
        self.clones = clones
        self.admin = admin
        self.retention = retention
        self.directory = directory
        self.store = store
        self.service = service
        self.server = server
        self.clock = clock
        self.logger = logger
    }

    /// A host may serve without a valid certificate (answering C004F041) so the admin sees requests arrive.
    static func certificateOrNil(_ identity: HostIdentity, clock: HostClock, logger: Logger) throws -> HostCertificate? {
        do {
            let certificate = try identity.certificate(now: clock.now())
            if certificate == nil { logger.warning("no host certificate: every client gets C004F041 until `tally host activate`") }
            return certificate
        } catch let error as TallyError {
            logger.warning("the host certificate is not valid: every client gets C004F041", metadata: ["error": "\(error.message)"])
            return nil
        }
    }

    /// The address the activation port listens on (with the real port when 0 was asked).
    public var address: BindAddress { server.address }

    /// Re-reads the settings and the certificate (SIGHUP). A bad settings file is reported and the old
    /// settings stay. Logs which changed settings apply now and which need a restart.
    public func reload() throws {
        let new = try HostSettings.load(from: directory)
        // Settings table: the change says what applies now and what needs a restart (which keeps its old value).
        let change = settings.withLockedValue { current in
            let change = HostSettingsChange(from: current, to: new)
            current = change.effective
            return change
        }
        service.update(settings: change.effective)
        change.log(to: logger)
        try service.update(certificate: try HostRuntime.certificateOrNil(HostIdentity(directory: directory), clock: clock, logger: logger))
    }

    /// Graceful shutdown: stop accepting, commit and answer what is in flight, close.
    public func shutdown() async {
        guard stopping.withLockedValue({ stopping in defer { stopping = true }; return !stopping }) else { return }
        service.stop()
        store.stopBackgroundCheckpoints()
        await server.shutdown()
        clones.stop()
        retention.cancel()
        if let admin {
            if AdminEndpoint.read(from: directory)?.address == admin.address.description { AdminEndpoint.remove(from: directory) }
            await admin.shutdown()
        }
    }
}
