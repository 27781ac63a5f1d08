import Foundation
import Testing
import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// Fixed times: the tests never read the wall clock.
enum Fixed {
    /// 2026-01-01T00:00:00Z.
    static let epoch = Date(timeIntervalSince1970: 1_767_225_600)
    static let day: TimeInterval = 86_400
    static let hour: TimeInterval = 3600

    static func days(_ n: Double) -> Date { epoch.addingTimeInterval(n * day) }
}

/// A vendor and an activated host (made at ``Fixed/epoch``), and clients for simulated machines in temporary
/// state directories.
struct ClientFixture: @unchecked Sendable {  // Immutable after init.
    let vendorHost: ActivatedHost
    let profile: ClientProfile
    let temp = TemporaryDirectory()

    init() throws {
        vendorHost = try ActivatedHost(now: Fixed.epoch)
        profile = try vendorHost.profile()
    }

    static func machine(_ name: String, productUUID: String? = nil) -> MachineIdentity {
        MachineIdentity(machineID: "machine-id-\(name)", productUUID: productUUID, name: name)
    }

    /// A client for machine `name` over the state directory `dir` (default: the machine's name).
    func client(_ name: String = "m1", dir: String? = nil, profile: ClientProfile? = nil, readTimeout: TimeInterval = 5,
                identity: MachineIdentity? = nil) -> TallyClient {
        // An empty resolv.conf: a client without a pinned host must never ask the machine's real name servers.
        TallyClient(stateDirectory: temp.path(dir ?? name), identity: identity ?? Self.machine(name),
                    profile: profile ?? self.profile, connectTimeout: 1, readTimeout: readTimeout,
                    discovery: DiscoveryOptions(resolvConfPath: "/dev/null"))
    }

    func setupKey(_ sku: String) -> String { profile.skus.first { $0.id == sku }!.setupKey }

    func directory(_ name: String) -> StateDirectory { StateDirectory(temp.path(name)) }

    func machineState(_ name: String) throws -> ClientMachine {
        try directory(name).readJSON(ClientMachine.self, from: "machine.json")
    }

    func writeMachineState(_ machine: ClientMachine, _ name: String) throws {
        try directory(name).writeJSON(machine, to: "machine.json")
    }

    /// Edits machine.json as JSON text, as someone with a text editor (or root) would: no Tally code in between.
    func editMachineJSON(_ name: String, _ edit: (inout [String: Any]) throws -> Void) throws {
        let url = directory(name).file("machine.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        try edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    /// A ticket signed by the fixture's host.
    func ticket(cmid: String, fingerprint: String, sku: String = "studio-pro", at now: Date = Fixed.epoch,
                validity: TimeInterval = 180 * Fixed.day, from host: ActivatedHost? = nil) throws -> String {
        let host = host ?? vendorHost
        let claims = TicketClaims(iss: host.certificate.claims.sub, sub: cmid, sku: sku, fpr: fingerprint, cnt: 25, iat: now,
                                  rnw: now.addingTimeInterval(7 * Fixed.day), exp: now.addingTimeInterval(validity))
        return try VerifiedTicket.issue(claims, hostKey: host.host.signingKey().privateKey, certificate: host.certificate)
    }

    /// A signed answer from the fixture's host.
    func answer(cmid: String, sku: String = "studio-pro", result: ResultCode = .success, current: Int = 25, required: Int = 25,
                nonce: String, ticket: String?, at now: Date = Fixed.epoch, from host: ActivatedHost? = nil) throws -> String {
        let host = host ?? vendorHost
        let claims = ResponseClaims(iss: host.certificate.claims.sub, sub: cmid, sku: sku, res: result, cur: current, req: required,
                                    ai: 120, ri: 10_080, htm: now, nce: nonce, tkt: ticket)
        return try VerifiedResponse.issue(claims, hostKey: host.host.signingKey().privateKey, certificate: host.certificate)
    }

    /// Installs studio-pro on machine `name` and activates it from a signed answer, as `activate` would.
    @discardableResult
    func activated(_ name: String = "m1", sku: String = "studio-pro", at now: Date = Fixed.epoch) throws -> (TallyClient, ActivationOutcome) {
        let client = client(name)
        let installed = try client.installKey(setupKey(sku), now: now)
        let identity = Self.machine(name)
        let nonce = "nonce-\(UUID().uuidString.prefix(8))-abcdef"
        let ticket = try ticket(cmid: installed.cmid, fingerprint: identity.fingerprint, sku: sku, at: now)
        let outcome = try client.applyAnswer(answer(cmid: installed.cmid, sku: sku, nonce: nonce, ticket: ticket, at: now),
                                             nonce: nonce, sku: sku, host: HostAddress(host: "127.0.0.1"), now: now)
        return (client, outcome)
    }
}

/// Runs `body` and returns the TallyError it throws (or nil).
func tallyError<T>(_ body: () throws -> T) -> TallyError? {
    do {
        _ = try body()
        return nil
    } catch let error as TallyError {
        return error
    } catch {
        return TallyError(.usageError, "not a TallyError: \(error)")
    }
}
