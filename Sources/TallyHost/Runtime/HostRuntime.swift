import Foundation
import Logging
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

    public static let storeFile = "host.sqlite"

    /// Opens the store, loads the count, and starts listening. A failure is logged as event 12291 where the
    /// store can be written, and thrown.
    public static func start(directory: StateDirectory, listen: String? = nil, clock: HostClock = HostClock(),
                             logger: Logger = Logger(label: "tally.host"), threads: Int = System.coreCount) async throws -> HostRuntime {
        let identity = HostIdentity(directory: directory)
        var store: SQLiteHostStore?
        do {
            _ = try identity.info()
            let settings = try HostSettings.load(from: directory)
            store = try SQLiteHostStore(path: directory.file(storeFile).path)
            let certificate = try certificateOrNil(identity, clock: clock, logger: logger)
            let service = try ActivationService(store: store!, key: identity.signingKey(), certificate: certificate,
                                                settings: settings, clock: clock, logger: logger)
            service.start()
            let address = try BindAddress(listen ?? settings.listen)
            do {
                let server = try await HostServer.start(address: address, service: service, logger: logger, threads: threads)
                return HostRuntime(directory: directory, store: store!, service: service, server: server, clock: clock, logger: logger)
            } catch {
                service.stop()
                throw error
            }
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.usageError, "\(error)")
            logger.error("host failed to start", metadata: ["code": "\(failure.code)", "error": "\(failure.message)"])
            try? store?.append([TallyEvent(id: .hostStartFailed, time: clock.now(), result: failure.code, fields: ["message": failure.message])])
            throw failure
        }
    }

    private init(directory: StateDirectory, store: SQLiteHostStore, service: ActivationService, server: HostServer, clock: HostClock, logger: Logger) {
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
    /// settings stay.
    public func reload() throws {
        let settings = try HostSettings.load(from: directory)
        service.update(settings: settings)
        try service.update(certificate: try HostRuntime.certificateOrNil(HostIdentity(directory: directory), clock: clock, logger: logger))
        if settings.listen != (try? BindAddress(settings.listen))?.description ?? settings.listen {
            logger.info("the listen address changes at the next restart")
        }
    }

    /// Graceful shutdown: stop accepting, commit and answer what is in flight, close.
    public func shutdown() async {
        service.stop()
        await server.shutdown()
    }
}
