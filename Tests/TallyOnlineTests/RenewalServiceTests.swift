import Foundation
import NIOCore
import Testing
import TallyCore
import TallyDNSTestSupport
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendor

#if canImport(Glibc)
import Glibc
#endif

/// The serving host's certificate renewal against the real vendor over TLS on loopback; the host's clock is moved
/// to the moment the service acts, so nothing waits for a timer (only for a vendor that never answers).
@Suite("Serving host: certificate renewal by itself, applied live; a vendor down or refusing", .serialized)
struct RenewalServiceTests {
    /// Five server-class machines asking now: the threshold is reached and the next machine gets a grant.
    static func reachThreshold(_ host: ServingOnlineHost) throws {
        for index in 0..<5 { _ = try host.activate(LiveHost.Machine(name: "server-\(index)")) }
    }

    @Test("before expiry the host renews by itself (12301) and the next grant carries the new certificate, no restart")
    func renewsLive() async throws {
        let clock = HostClock.manual(LiveHost.wholeSecondNow())
        try await withOnlineVendor(now: { clock.now() }) { vendor in
            let host = try await ServingOnlineHost(vendor, clock: clock) { $0.reportSending = false }
            var attempts = host.runtime.renewal.attempts.makeAsyncIterator()
            try Self.reachThreshold(host)
            let before = try host.activate(LiveHost.Machine(name: "before"))
            #expect(before.ticket != nil && before.certificate.claims.serial == host.first.claims.serial)

            // The moment the schedule says: fewer than 30 days left, plus this host's jitter.
            let due = host.renewalDue(host.first)
            #expect(host.first.expires.timeIntervalSince(due) <= 30 * 86_400)
            #expect(host.first.expires.timeIntervalSince(due) > 30 * 86_400 - RenewalSchedule.maximumJitter)
            host.advance(to: due)
            let attempt = try #require(await attempts.next())
            #expect(attempt.failure == nil, "\(attempt.message ?? "")")
            let serial = try #require(attempt.serial)
            #expect(serial > host.first.claims.serial)
            // Applied live: the running host signs with the new certificate, and the file holds it.
            #expect(host.runtime.state.certificate?.claims.serial == serial)
            #expect(try host.identity.certificate(now: host.clock.now())?.claims.serial == serial)
            // Months later the machines of day one have left the count window: five ask again, then one more.
            try Self.reachThreshold(host)
            let after = try host.activate(LiveHost.Machine(name: "after"))
            #expect(after.ticket != nil)
            #expect(after.certificate.claims.serial == serial)
            // Event 12301 with the serial; the next attempt is the new certificate's due time, months away.
            let renewed = try await host.events(.certificateRenewed)
            #expect(renewed.map { $0.fields["serial"] } == [String(serial)])
            #expect(try #require(attempt.next).timeIntervalSince(host.clock.now()) > 100 * 86_400)
            #expect(try vendor.authority.audit().filter { $0.kind == .renewal }.map(\.result) == [.success])
            await host.stop()
        }
    }

    @Test("a vendor that accepts and never answers: 12302 with 0xC0A70021, retried after 5, 10, 20 min; activations are not slowed")
    func vendorDown() async throws {
        let silent = LoopbackSockets.stalledTCP()
        defer { close(silent.fd) }
        let clock = HostClock.manual(LiveHost.wholeSecondNow())
        try await withOnlineVendor(now: { clock.now() }) { vendor in
            // The setting names the dead vendor instead of the certificate's URL.
            let host = try await ServingOnlineHost(vendor, clock: clock, requestTimeout: .seconds(2)) {
                $0.vendorURL = "https://localhost:\(silent.port)"
                $0.reportSending = false
            }
            var attempts = host.runtime.renewal.attempts.makeAsyncIterator()
            host.advance(to: host.renewalDue(host.first))
            // While the renewal waits for the vendor, clients are answered at once.
            let started = ContinuousClock.now
            try Self.reachThreshold(host)
            let answer = try host.activate(LiveHost.Machine(name: "during"))
            let answered = ContinuousClock.now - started
            var waits: [TimeInterval] = []
            for round in 0..<3 {
                let attempt = try #require(await attempts.next())
                if round == 0 {
                    // The attempt took the whole request timeout; the activation was answered well within it.
                    #expect(ContinuousClock.now - started >= .milliseconds(1500))
                    #expect(answered < .seconds(1), "six activations took \(answered) while the renewal waited")
                }
                #expect(attempt.failure == .vendorTimeout, "\(attempt.message ?? "")")
                let next = try #require(attempt.next)
                waits.append(next.timeIntervalSince(attempt.time))
                host.advance(to: next)
            }
            #expect(answer.ticket != nil)
            #expect(waits == [300, 600, 1200])
            let failed = try await host.events(.renewalFailed)
            #expect(failed.map(\.result) == [.vendorTimeout, .vendorTimeout, .vendorTimeout])
            #expect(failed.first?.fields["vendor"] == "https://localhost:\(silent.port)")
            #expect(failed.first?.fields["next"] != nil && failed.first?.fields["remedy"] != nil)
            #expect(host.runtime.state.certificate?.claims.serial == host.first.claims.serial)
            await host.stop()
        }
    }

    @Test("a blocked key: 12302 with C004C003, no swap, the old certificate still signs; asked again a day later")
    func blockedKey() async throws {
        let clock = HostClock.manual(LiveHost.wholeSecondNow())
        try await withOnlineVendor(now: { clock.now() }) { vendor in
            let key = try vendor.key()
            let host = try await ServingOnlineHost(vendor, clock: clock, key: key) { $0.reportSending = false }
            var attempts = host.runtime.renewal.attempts.makeAsyncIterator()
            try Self.reachThreshold(host)
            try vendor.authority.blockHostKey(keyID: key.keyID)
            host.advance(to: host.renewalDue(host.first))
            let refused = try #require(await attempts.next())
            #expect(refused.failure == .keyBlocked)
            #expect(try #require(refused.next).timeIntervalSince(refused.time) == RetryBackoff.afterRefusal)
            #expect(host.runtime.state.certificate?.compact == host.first.compact)
            #expect(try host.identity.certificate(now: host.clock.now())?.compact == host.first.compact)
            // Tickets already issued stay valid, and the host keeps answering with the certificate it has until it ends.
            #expect(try host.activate(LiveHost.Machine(name: "after")).certificate.claims.serial == host.first.claims.serial)
            host.advance(to: try #require(refused.next))
            let again = try #require(await attempts.next())
            #expect(again.failure == .keyBlocked)
            let failed = try await host.events(.renewalFailed)
            #expect(failed.map(\.result) == [.keyBlocked, .keyBlocked])
            #expect(failed.first?.fields["remedy"]?.isEmpty == false)
            #expect(try vendor.authority.audit().filter { $0.kind == .renewal }.map(\.result) == [.keyBlocked, .keyBlocked])
            await host.stop()
        }
    }

    @Test("a host activated offline asks no vendor; a reload that sets vendor-url starts renewal (here against a closed port: 0xC0A70020, 5 min)")
    func vendorURLFromAReload() async throws {
        // A port nothing listens on: the connection is refused at once.
        let closed = LoopbackSockets.stalledTCP()
        close(closed.fd)
        let live = try await LiveHost()
        defer { Task { await live.stop() } }
        var attempts = live.runtime.renewal.attempts.makeAsyncIterator()
        let certificate = try #require(live.runtime.state.certificate)
        #expect(certificate.claims.vurl == nil)
        var schedule = RenewalSchedule(hostID: certificate.claims.sub)
        schedule.marginDays = RenewalSchedule.defaultMarginDays
        live.clock.advance(by: schedule.due(expires: certificate.expires).timeIntervalSince(live.clock.now()))
        var settings = try HostSettings.load(from: live.fixture.host.directory)
        settings.vendorURL = "https://localhost:\(closed.port)"
        settings.reportSending = false
        try settings.save(to: live.fixture.host.directory)
        let outcome = try await live.runtime.reload()
        #expect(outcome.settings.applied.contains("vendor-url"))
        let attempt = try #require(await attempts.next())
        #expect(attempt.failure == .vendorUnreachable, "\(attempt.failure.map { $0.hex } ?? "none"): \(attempt.message ?? "")")
        #expect(try #require(attempt.next).timeIntervalSince(attempt.time) == RetryBackoff.first)
        // Offline hosts had no 12302 before the reload: the first one is this attempt's.
        let failed = try await live.runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: .renewalFailed, limit: 10))
        #expect(failed.count == 1)
    }
}
