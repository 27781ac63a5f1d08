import Foundation
import Logging
import NIOCore
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport
import TallyVendor
import TallyVendorLink
import TallyVendorServer

/// A vendor serving online over real TLS on 127.0.0.1 port 0 with a throwaway CA, its offline root key moved
/// off the state directory (as on a serving machine), and hosts in temporary directories to activate.
final class OnlineVendor: @unchecked Sendable {
    let temp = TemporaryDirectory()
    let authority: VendorAuthority
    let pki: TestPKI
    let server: VendorServer
    private let running: Task<Void, any Error>
    /// Where the offline root's private key was moved to.
    let offlineKeyFile: String

    static let logger: Logger = {
        var logger = Logger(label: "tally.test.vendor")
        logger.logLevel = .critical
        return logger
    }()

    init(configure: (inout VendorServerConfiguration) -> Void = { _ in }, tls: Bool = true, pki given: TestPKI? = nil,
         rateClock: (@Sendable () -> Double)? = nil, now: @escaping @Sendable () -> Date = { Date() }) async throws {
        authority = VendorAuthority(directory: StateDirectory(temp.path("vendor")))
        _ = try authority.initialise(vendorID: "acme", vendorName: "Acme")
        offlineKeyFile = temp.path("offline-root.jwk")
        try FileManager.default.moveItem(atPath: authority.directory.file(VendorAuthority.rootKeyFile).path, toPath: offlineKeyFile)
        pki = try given ?? TestPKI()
        var configuration = VendorServerConfiguration(host: "127.0.0.1", port: 0, burstPerAddress: 200)
        if tls {
            let (certificate, key) = try pki.server()
            configuration.tls = .init(certificateChain: certificate, privateKey: key)
        }
        configure(&configuration)
        if let rateClock {
            server = try await VendorServer.bind(configuration: configuration, authority: authority, logger: Self.logger, now: now, rateClock: rateClock)
        } else {
            server = try await VendorServer.bind(configuration: configuration, authority: authority, logger: Self.logger, now: now)
        }
        let server = server
        running = Task(executorPreference: VendorServer.executor) { try await server.run() }
        // Certificates name the vendor's URL from now on, as a vendor's catalog does.
        var catalog = try authority.catalog()
        catalog.vendor.url = url
        try authority.directory.writeJSON(catalog, to: VendorAuthority.catalogFile)
    }

    /// The URL hosts use: the TLS certificate names `localhost` and `127.0.0.1`.
    var url: String { (server.secure ? "https" : "http") + "://localhost:\(server.port)" }

    var vendorURL: VendorURL { VendorURL(url)! }

    /// The throwaway CA pinned, no proxy, timeouts generous for a loaded machine.
    var settings: VendorConnectionSettings {
        VendorConnectionSettings(caFile: pki.caCertificate, proxy: .direct, connectTimeout: .seconds(10), requestTimeout: .seconds(60))
    }

    func stop() async {
        await server.shutdown()
        _ = await running.result
    }

    /// Issues a host key.
    func key(maxHosts: Int = 6, perHost: Int = 10, group: String = "studio-2026") throws -> ProductKey {
        try authority.issueHostKey(group: group, maxHosts: maxHosts, maxActivationsPerHost: perHost)
    }

    /// A host with `key` installed, trusting only the vendor's offline root (`vendor-public.jwk`), as a host does.
    func host(_ key: ProductKey, name: String = UUID().uuidString) throws -> HostIdentity {
        let host = HostIdentity(directory: StateDirectory(temp.path("host-\(name)")))
        _ = try host.installKey(key.description, vendorRoots: [try authority.publicKey()])
        return host
    }

    func online(_ host: HostIdentity, settings: VendorConnectionSettings? = nil) -> HostOnline {
        HostOnline(directory: host.directory, settings: settings ?? self.settings)
    }
}

/// Runs `body` against a started vendor and stops it afterwards, also when `body` throws.
/// `now`: the vendor's clock (a test moving a host's clock moves the vendor's with it).
func withOnlineVendor<T>(configure: (inout VendorServerConfiguration) -> Void = { _ in }, tls: Bool = true,
                         rateClock: (@Sendable () -> Double)? = nil, now: @escaping @Sendable () -> Date = { Date() },
                         _ body: (OnlineVendor) async throws -> T) async throws -> T {
    let vendor = try await OnlineVendor(configure: configure, tls: tls, rateClock: rateClock, now: now)
    do {
        let result = try await body(vendor)
        await vendor.stop()
        return result
    } catch {
        await vendor.stop()
        throw error
    }
}

/// The code of the error `body` throws, or `nil` when it succeeds.
func errorCode(_ body: () async throws -> Void) async -> ResultCode? {
    do {
        try await body()
        return nil
    } catch let error as TallyError {
        return error.code
    } catch {
        return ResultCode(0xFFFF_FFFF)
    }
}
