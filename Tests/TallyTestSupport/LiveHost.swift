import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyHost
import TallyStore

/// An activated host serving on 127.0.0.1 port 0 with a manual clock.
public final class LiveHost: @unchecked Sendable {
    public let fixture: ActivatedHost
    public private(set) var runtime: HostRuntime
    public let clock: HostClock
    /// Where the admin interface listens (127.0.0.1 port 0 unless a test asks for another address).
    public let adminListen: String
    /// The host's state directory: the fixture's host, or another host of the fixture's licence.
    public let directory: StateDirectory

    /// - Parameter directory: another activated host's state directory (``ActivatedHost/anotherHost(_:now:)``);
    ///   the fixture's host by default.
    public init(fixture: ActivatedHost? = nil, directory: StateDirectory? = nil, clock: HostClock = .manual(LiveHost.wholeSecondNow()),
                settings: HostSettings? = nil, adminListen: String = "127.0.0.1:0") async throws {
        self.fixture = try fixture ?? ActivatedHost(now: clock.now())
        self.clock = clock
        self.adminListen = adminListen
        self.directory = directory ?? self.fixture.host.directory
        if let settings { try settings.save(to: self.directory) }
        runtime = try await HostRuntime.start(directory: self.directory, listen: "127.0.0.1:0", adminListen: adminListen, clock: clock,
                                              logger: LiveHost.quietLogger, threads: 2)
    }

    /// Now, rounded down to a second: requests carry whole seconds, so edges such as "exactly 4 h" stay exact.
    public static func wholeSecondNow() -> Date { Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)) }

    public static let quietLogger: Logger = {
        var logger = Logger(label: "tally.test")
        logger.logLevel = .critical
        return logger
    }()

    public var port: Int { runtime.address.port }

    /// The admin interface's port (127.0.0.1, port 0 when started).
    public var adminPort: Int { runtime.admin?.address.port ?? 0 }

    /// Stops and starts the host again on the same state directory (a restart).
    public func restart() async throws {
        await runtime.shutdown()
        runtime = try await HostRuntime.start(directory: directory, listen: "127.0.0.1:0", adminListen: adminListen, clock: clock,
                                              logger: LiveHost.quietLogger, threads: 2)
    }

    public func stop() async { await runtime.shutdown() }

    /// A simulated machine.
    public struct Machine: Sendable {
        public var cmid = CMID.generate()
        public var fingerprint = MachineFingerprint.compute(machineID: UUID().uuidString, productUUID: nil)
        public var name = "machine"

        public init(name: String = "machine") { self.name = name }
    }

    /// A request body; `version` 1 is a client of the first protocol, `certificateHash` names a certificate held.
    public static func body(_ machine: Machine, sku: String, clientTime: Date, nonce: String = LiveHost.nonce(), version: Int = ActivationRequestBody.currentVersion,
                            certificateHash: String? = nil) -> (Data, String) {
        let body = ActivationRequestBody(cmid: machine.cmid, sku: sku, fingerprint: machine.fingerprint, machine: machine.name,
                                         clientTime: clientTime, nonce: nonce, licenseStatus: .initialGrace, minutesToExpiry: 43_200,
                                         certificateHash: certificateHash, version: version)
        return (try! TallyJSON.encode(body), nonce)
    }

    public static func nonce() -> String { Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) })) }

    /// Sends one activation over a new connection (from the loopback address `source`, 127.0.0.1 by default)
    /// and verifies the signed answer.
    public func activate(_ machine: Machine, sku: String = "studio-pro", clientTime: Date? = nil, source: String? = nil) throws -> VerifiedResponse {
        let (body, nonce) = LiveHost.body(machine, sku: sku, clientTime: clientTime ?? clock.now())
        let response = try RawHTTPConnection(port: port, source: source).post(ProtocolPaths.activate, body: body, keepAlive: false)
        guard response.status == 200 else {
            throw RawHTTPConnection.Failure(description: "status \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return try result(ofAnswer: response.body, nonce: nonce, machine: machine)
    }

    /// Verifies an HTTP 200 body of either protocol, as a client does (`held`: the certificate the request named).
    public func result(ofAnswer data: Data, nonce: String, machine: Machine, held: String? = nil) throws -> VerifiedResponse {
        let answer = try TallyJSON.decode(ActivationAnswerBody.self, from: data)
        if let token = answer.token {
            return try VerifiedResponse.verify(token: token, certificate: answer.certificate ?? held, roots: fixture.roots(), now: clock.now(),
                                               nonce: nonce, cmid: machine.cmid, fingerprint: machine.fingerprint)
        }
        guard let response = answer.response else { throw RawHTTPConnection.Failure(description: "neither token nor response in the answer") }
        return try VerifiedResponse.verify(response, roots: fixture.roots(), now: clock.now(), nonce: nonce, cmid: machine.cmid,
                                           fingerprint: machine.fingerprint)
    }
}

extension LiveHost {
    /// The count of `productClass` now, every decision included.
    public func count(_ productClass: String) async throws -> Int? {
        try await counts()[productClass]
    }

    /// The count per class of the host's certificate now.
    public func counts() async throws -> [String: Int] {
        let all = try await runtime.store.counts(now: clock.now())
        var counts: [String: Int] = [:]
        for productClass in runtime.state.certificate?.claims.thr.keys ?? [:].keys { counts[productClass] = all[productClass] ?? 0 }
        return counts
    }

    /// The host's SQLite store, for what only it has (page caps, read-only mode, pragmas).
    public var sqlite: SQLiteHostStore { runtime.store as! SQLiteHostStore }
}

extension LiveHost {
    /// Brings the store's tables up to date and runs clone detection on what that found, as the host's services
    /// do in the background.
    public func flushClones() async throws {
        try await runtime.store.catchUp()
        await runtime.clones.checkPending()
    }
}
