import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import TallyCore
import TallyFiles
import TallyStore
import UnixSignals

/// A host: one `ServiceGroup` of services (the store's background work, the commit pipeline, clone detection,
/// event retention, the activation port, the admin port, DNS re-publishing, once a vendor URL is known certificate
/// renewal and report sending, and, from the command line, SIGHUP).
/// `tally host serve` and the tests run this same object.
///
/// ``prepare(directory:options:)`` opens the store and binds both ports (so their addresses are known and a
/// failure is event 12291 before anything serves); ``run()`` runs the group until SIGTERM/SIGINT (when
/// ``Options/handleSignals`` is on) or ``shutdown()``. Graceful shutdown goes in reverse order: the vendor's
/// services (an exchange in flight is cancelled), DNS, the admin
/// port, the activation port (drained: every request it read gets its committed answer), then the pipeline
/// (drained), then the store's work (the index caught up, the logs checkpointed).
public final class HostRuntime: Sendable {
    public struct Options: Sendable {
        /// The activation address instead of the settings' `listen` (port 0 picks one).
        public var listen: String?
        /// The admin address instead of the settings' `admin-listen`; `none` turns it off.
        public var adminListen: String?
        public var clock: HostClock
        public var logger: Logger
        /// Event loop threads of the activation port.
        public var threads: Int
        /// SIGTERM and SIGINT drain, SIGHUP reloads (the command line). Off for hosts inside a test process.
        public var handleSignals: Bool
        /// Publish the SRV record now and every 24 h while serving.
        public var publishDNS: Bool
        /// How certificate renewal and report sending reach the vendor (timeouts; URL and CA come from the settings).
        public var vendorAccess: VendorAccess

        public init(listen: String? = nil, adminListen: String? = nil, clock: HostClock = HostClock(),
                    logger: Logger = Logger(label: "tally.host"), threads: Int = System.coreCount, handleSignals: Bool = false,
                    publishDNS: Bool = true, vendorAccess: VendorAccess = VendorAccess()) {
            self.listen = listen
            self.adminListen = adminListen
            self.clock = clock
            self.logger = logger
            self.threads = threads
            self.handleSignals = handleSignals
            self.publishDNS = publishDNS
            self.vendorAccess = vendorAccess
        }
    }

    public let directory: StateDirectory
    public let store: any HostStore
    public let pipeline: CommitPipeline
    public let state: ActivationState
    public let server: HostServer
    /// The admin interface; `nil` when `admin-listen` is `none`.
    public let admin: AdminServer?
    public let clock: HostClock
    public let logger: Logger
    /// Prometheus metrics of this host (`/metrics`).
    public let metrics: HostMetrics
    public let clones: CloneDetectionService
    let republisher: DNSRepublisher?
    /// Renews the certificate online before it expires.
    public let renewal: CertificateRenewalService
    /// Sends the usage report daily.
    public let reports: UsageReportService
    private let group: ServiceGroup
    /// The services' tasks run on queues of the host's own, not on the cooperative pool (see ``DispatchTaskExecutor``).
    private let executor = DispatchTaskExecutor(label: "tally.host", concurrent: true)
    private let running = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    public static let storeFile = "host.sqlite"

    /// Opens the store, loads the count and binds both ports. A failure is logged as event 12291 where the store
    /// can be written, and thrown; nothing is left running.
    public static func prepare(directory: StateDirectory, options: Options = Options()) async throws -> HostRuntime {
        let logger = options.logger
        let clock = options.clock
        var store: (any HostStore)?
        var server: HostServer?
        do {
            let identity = HostIdentity(directory: directory)
            let info = try identity.info()
            let settings = try HostSettings.load(from: directory)
            // Read once: a shared store checks the licence with it; a certificate that cannot be read fails the start
            // below, after the store opened, so the failure is event 12291 in it.
            let certificateRead = Result { try certificateOrNil(identity, clock: clock, logger: logger) }
            let readable: HostCertificate? = (try? certificateRead.get()) ?? nil
            store = try await HostStoreOpening.open(settings, directory: directory, hostID: info.hostID, hostAddress: options.listen ?? settings.listen,
                                                    certificate: readable?.claims, logger: logger)
            // As `activate` does: a host key or private key others may read is refused (treat it as stolen), after
            // the store opened so the refusal is event 12291.
            try identity.requirePrivateFiles()
            // The admin rule is checked before anything listens (and after the store opened, so a refusal is
            // event 12291): a non-loopback address needs a token file.
            let adminText = options.adminListen ?? settings.adminListen
            let adminAddress = ["none", "off"].contains(adminText) ? nil : try BindAddress(adminText)
            let access = try adminAddress.map { try AdminAccess.load(address: $0, tokenFile: settings.adminTokenFile, directory: directory, clock: clock) }
            if let sqlite = store as? SQLiteHostStore {
                let synchronous = try sqlite.synchronousMode()
                logger.info("store opened", metadata: ["path": "\(sqlite.path)", "journal": "wal", "synchronous": "\(synchronous)"])
            }
            let retention = EventRetention(store: store!, directory: directory, clock: clock, logger: logger)
            do {
                try await retention.sweep()
            } catch {
                // The service sweeps again later; a store that cannot be swept now still serves (or answers 503).
                logger.warning("could not delete old events and clients at start", metadata: ["error": "\(error)"])
            }
            let state = try ActivationState(settings: settings, key: identity.signingKey(), certificate: try certificateRead.get())
            let metrics = HostMetrics(hostID: info.hostID)
            let pipeline = CommitPipeline(store: store!, state: state, clock: clock, logger: logger, observer: metrics)
            let address = try BindAddress(options.listen ?? settings.listen)
            var limits = ConnectionLimits(settings: settings)
            limits.maxConnections = FileLimit.prepare(maxConnections: limits.maxConnections, logger: logger)
            server = try await HostServer.start(address: address, pipeline: pipeline, logger: logger, threads: options.threads, limits: limits)
            // The site's list of hosts shows where this one really listens (a port of 0 asked is bound now).
            do {
                try await store!.serving(at: server!.address.description)
            } catch {
                logger.warning("could not record the host's address in the store", metadata: ["error": "\(error)"])
            }
            // admin-listen left at its default gives way to a free port when the default is taken (a second host on
            // this machine); admin.json says where, and the command line reads it.
            let adminSource: AdminAddressSource = options.adminListen != nil ? .option
                : settings.adminListen == HostSettings().adminListen ? .defaultSetting : .setting
            let admin = try await startAdmin(adminAddress, source: adminSource, access: access, directory: directory, store: store!, pipeline: pipeline,
                                             state: state, metrics: metrics, clock: clock, activationAddress: server!.address, logger: logger)
            let clones = CloneDetectionService(store: store!, logger: logger) { _ in metrics.recordClone() }
            let republisher = options.publishDNS ? DNSRepublisher.forHost(directory: directory, store: store!, port: server!.address.port,
                                                                        clock: clock, logger: logger, metrics: metrics) : nil
            let signals = options.handleSignals ? await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) : nil
            return HostRuntime(directory: directory, store: store!, pipeline: pipeline, state: state, server: server!, admin: admin,
                               clock: clock, logger: logger, metrics: metrics, clones: clones, retention: retention, republisher: republisher,
                               signals: signals, vendorAccess: options.vendorAccess)
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.usageError, "\(error)")
            await server?.shutdown()
            logger.error("host failed to start", metadata: ["code": "\(failure.code)", "error": "\(failure.message)"])
            try? await store?.append([TallyEvent(id: .hostStartFailed, time: clock.now(), result: failure.code,
                                                 fields: ["message": failure.message, "remedy": failure.remedy])])
            try? await store?.close()
            throw failure
        }
    }

    /// Prepares the host and runs it in the background (tests, the demo); ``shutdown()`` stops it.
    public static func start(directory: StateDirectory, listen: String? = nil, adminListen: String? = nil, clock: HostClock = HostClock(),
                             logger: Logger = Logger(label: "tally.host"), threads: Int = System.coreCount,
                             publishDNS: Bool = false) async throws -> HostRuntime {
        try await start(directory: directory, options: Options(listen: listen, adminListen: adminListen, clock: clock, logger: logger,
                                                               threads: threads, publishDNS: publishDNS))
    }

    /// Prepares the host with `options` and runs it in the background; ``shutdown()`` stops it.
    public static func start(directory: StateDirectory, options: Options) async throws -> HostRuntime {
        let runtime = try await prepare(directory: directory, options: options)
        // Started on the host's own queue: it must not wait for a thread of the cooperative pool to start.
        runtime.running.withLockedValue { $0 = Task(executorPreference: runtime.executor) { try await runtime.run() } }
        return runtime
    }

    private init(directory: StateDirectory, store: any HostStore, pipeline: CommitPipeline, state: ActivationState, server: HostServer,
                 admin: AdminServer?, clock: HostClock, logger: Logger, metrics: HostMetrics, clones: CloneDetectionService,
                 retention: EventRetention, republisher: DNSRepublisher?, signals: UnixSignalsSequence?, vendorAccess: VendorAccess) {
        self.directory = directory
        self.store = store
        self.pipeline = pipeline
        self.state = state
        self.server = server
        self.admin = admin
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.clones = clones
        self.republisher = republisher
        let renewal = CertificateRenewalService(directory: directory, state: state, store: store, clock: clock, logger: logger, access: vendorAccess) {
            try HostRuntime.reloadCertificate(directory: directory, state: state, clock: clock, logger: logger)
        }
        let reports = UsageReportService(directory: directory, state: state, store: store, clock: clock, logger: logger, access: vendorAccess)
        self.renewal = renewal
        self.reports = reports
        var services: [any Service] = store.services()
        services.append(pipeline)
        services.append(clones)
        services.append(retention)
        services.append(ActivationPortService(server: server))
        if let admin {
            services.append(AdminPortService(server: admin) {
                if AdminEndpoint.read(from: directory)?.address == admin.address.description { AdminEndpoint.remove(from: directory) }
            })
        }
        services.append(republisher ?? IdleService() as any Service)
        self.signals = signals
        group = ServiceGroup(configuration: HostRuntime.configuration(services: services, logger: logger))
    }

    /// The process's signals when this host handles them (the command line).
    private let signals: UnixSignalsSequence?

    /// Whether renewal and report sending have joined the group.
    private let vendorServicesStarted = NIOLockedValueBox(false)

    /// Adds the renewal and report services to the group when a vendor URL is known and they have not joined yet;
    /// they stop first at shutdown (an exchange in flight is cancelled, nothing the host owes waits for it).
    func startVendorServicesIfNeeded() async {
        guard VendorAccess.url(settings: state.settings, directory: directory) != nil else { return }
        let first = vendorServicesStarted.withLockedValue { started -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        await group.addServiceUnlessShutdown(reports)
        await group.addServiceUnlessShutdown(renewal)
    }

    static func configuration(services: [any Service], logger: Logger) -> ServiceGroupConfiguration {
        var configuration = ServiceGroupConfiguration(services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                                                      logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(30)
        return configuration
    }

    /// Runs every service until graceful shutdown; then the store is closed.
    public func run() async throws {
        // Renewal and reports join the group once a vendor URL is known (at start, or from a reload): a host
        // activated offline runs neither.
        await startVendorServicesIfNeeded()
        if let signals {
            // The signals have a service of their own, last in the group (it stops first).
            let group = group
            await group.addServiceUnlessShutdown(SignalService(signals: signals, reload: { [weak self] in await self?.reloadAndLog() },
                                                               shutDown: { [logger] in
                                                                   logger.info("shutting down")
                                                                   await group.triggerGracefulShutdown()
                                                               }))
        }
        do {
            try await withTaskExecutorPreference(executor) { try await group.run() }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// Graceful shutdown: stop accepting, commit and answer what is in flight, finish the store's work, close.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
        let task = running.withLockedValue { $0 }
        _ = try? await task?.value
    }

    /// The address the activation port listens on (with the real port when 0 was asked).
    public var address: BindAddress { server.address }

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

    /// Where the admin address came from: `--admin-listen`, an `admin-listen` setting, or its default.
    enum AdminAddressSource {
        case option, setting, defaultSetting
    }

    /// The admin interface beside the activation port, and `admin.json` saying where it is. The default address,
    /// when taken, gives way to a free port on the same interface; an address asked for fails, naming where it
    /// was asked.
    private static func startAdmin(_ address: BindAddress?, source: AdminAddressSource, access: AdminAccess?, directory: StateDirectory,
                                   store: any HostStore, pipeline: CommitPipeline, state: ActivationState, metrics: HostMetrics, clock: HostClock,
                                   activationAddress: BindAddress, logger: Logger) async throws -> AdminServer? {
        guard let address, let access else { return nil }
        let context = AdminContext(directory: directory, store: store, pipeline: pipeline, state: state, metrics: metrics, clock: clock,
                                   access: access, activationAddress: activationAddress, startedAt: clock.now())
        let router = AdminRouter(context: context)
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(address: address, router: router, logger: logger)
        } catch let error as TallyError {
            switch source {
            case .defaultSetting:
                admin = try await AdminServer.start(address: BindAddress(host: address.host, port: 0), router: router, logger: logger)
                logger.notice("the default admin address is taken (another host on this machine?): the admin interface listens on a free port, written to admin.json; set admin-listen to choose one",
                              metadata: ["default": "\(address)", "address": "\(admin.address)", "reason": "\(error.message)"])
            case .setting:
                throw TallyError(.usageError, "the admin-listen setting \(address) cannot be used: \(error.message)",
                                 remedy: "Set a free address with `tally host set admin-listen 127.0.0.1:PORT` (or `tally host reset admin-listen`: "
                                    + "the default gives way to a free port when taken), or turn it off with `tally host set admin-listen none`.")
            case .option:
                throw TallyError(.usageError, "--admin-listen \(address) cannot be used: \(error.message)",
                                 remedy: "Give a free address (port 0 picks one), or leave --admin-listen out to use the admin-listen setting.")
            }
        }
        do {
            try AdminEndpoint(address: admin.address.description, tokenRequired: access.requiresToken).write(to: directory)
        } catch {
            await admin.shutdown()
            throw error
        }
        return admin
    }
}
