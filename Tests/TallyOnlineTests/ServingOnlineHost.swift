import Foundation
import NIOCore
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendorLink

/// A host activated online against an ``OnlineVendor`` and serving on 127.0.0.1 port 0 with a manual clock, its
/// `vendor-ca-file` setting naming the vendor's throwaway CA: its renewal and report services reach the real vendor
/// over TLS, and the test moves the clock to the moment they act.
final class ServingOnlineHost: Sendable {
    let identity: HostIdentity
    let clock: HostClock
    let runtime: HostRuntime
    /// The certificate of the online activation.
    let first: HostCertificate

    /// `clock`: the host's, which the vendor should read too (``withOnlineVendor(now:)``), as real clocks agree.
    init(_ vendor: OnlineVendor, clock: HostClock, key: ProductKey? = nil, requestTimeout: TimeAmount = .seconds(30),
         settings configure: (inout HostSettings) -> Void = { _ in }) async throws {
        self.clock = clock
        identity = try vendor.host(try key ?? vendor.key())
        first = try await vendor.online(identity).activate(url: vendor.url, now: clock.now()).certificate
        var settings = HostSettings()
        settings.vendorCaFile = vendor.pki.caCertificate
        configure(&settings)
        try settings.save(to: identity.directory)
        runtime = try await HostRuntime.start(directory: identity.directory, options: .init(
            listen: "127.0.0.1:0", adminListen: "none", clock: clock, logger: LiveHost.quietLogger, threads: 2, publishDNS: false,
            vendorAccess: VendorAccess(requestTimeout: requestTimeout)))
    }

    func stop() async { await runtime.shutdown() }

    var hostID: String { (try? identity.info().hostID) ?? "" }

    /// Moves the clock to `date` (forward only).
    func advance(to date: Date) {
        clock.advance(by: max(0, date.timeIntervalSince(clock.now())))
    }

    /// When the renewal service renews `certificate`, as its schedule says for this host.
    func renewalDue(_ certificate: HostCertificate, marginDays: Int = RenewalSchedule.defaultMarginDays) -> Date {
        var schedule = RenewalSchedule(hostID: hostID)
        schedule.marginDays = marginDays
        return schedule.due(expires: certificate.expires)
    }

    /// One activation request from `machine`, its answer verified as a client verifies it, with the roots this
    /// host trusts (the offline root and the online root it learnt).
    func activate(_ machine: LiveHost.Machine, sku: String = "studio-server") throws -> VerifiedResponse {
        let (body, nonce) = LiveHost.body(machine, sku: sku, clientTime: clock.now())
        let response = try RawHTTPConnection(port: runtime.address.port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        guard response.status == 200 else { throw AnswerFailure(description: "status \(response.status)") }
        let answer = try TallyJSON.decode(ActivationAnswerBody.self, from: response.body)
        guard let token = answer.token else { throw AnswerFailure(description: "no token in the answer") }
        return try VerifiedResponse.verify(token: token, certificate: answer.certificate, roots: identity.trustedRoots(), now: clock.now(),
                                           nonce: nonce, cmid: machine.cmid, fingerprint: machine.fingerprint)
    }

    /// The stored events with `id`, oldest first.
    func events(_ id: EventID) async throws -> [TallyEvent] {
        try await runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: id, limit: 100)).sorted { $0.seq < $1.seq }.map(\.event)
    }
}

struct AnswerFailure: Error, CustomStringConvertible {
    var description: String
}
