import Foundation
import Testing
import TallyCore
import TallyHost

/// The rules of when a serving host asks the vendor, as values with the time as input (no vendor, no timer).
@Suite("Renewal and report schedules, and the backoff after failures")
struct RenewalScheduleTests {
    static let expires = Date(timeIntervalSince1970: 1_900_000_000)

    @Test("due margin-days before the end plus a jitter from the host id: the same for one host, spread over a fleet")
    func jitter() {
        let hosts = (0..<200).map { _ in CMID.generate() }
        let jitters = hosts.map { RenewalSchedule.jitter(hostID: $0) }
        #expect(jitters.allSatisfy { $0 >= 0 && $0 < RenewalSchedule.maximumJitter })
        #expect(Set(jitters).count > 190)
        // Spread: every quarter of the 12 hours has some of 200 hosts.
        for quarter in 0..<4 {
            let range = Double(quarter) * 3 * 3600 ..< Double(quarter + 1) * 3 * 3600
            #expect(jitters.contains { range.contains($0) })
        }
        #expect(RenewalSchedule.jitter(hostID: hosts[0]) == RenewalSchedule.jitter(hostID: hosts[0]))
        var schedule = RenewalSchedule(hostID: hosts[0])
        #expect(schedule.due(expires: Self.expires) == Self.expires.addingTimeInterval(-30 * 86_400 + jitters[0]))
        schedule.marginDays = 45
        #expect(schedule.nextAttempt(expires: Self.expires) == Self.expires.addingTimeInterval(-45 * 86_400 + jitters[0]))
    }

    @Test("an unreachable vendor: 5, 10, 20 … minutes, at most 6 h; a refusal: a day; a success starts over")
    func backoff() {
        var backoff = RetryBackoff()
        let waits = (0..<9).map { _ in backoff.failed(.vendorUnreachable) / 60 }
        #expect(waits == [5, 10, 20, 40, 80, 160, 320, 360, 360])
        #expect(backoff.failed(.keyBlocked) == 86_400)
        #expect(backoff.failed(.vendorTimeout) == 300)
        backoff.succeeded()
        #expect(backoff.failed(.proxyFailed) == 300)
        #expect(RetryBackoff.isUnreachable(.vendorTLSRejected) && !RetryBackoff.isUnreachable(.invalidKey) && !RetryBackoff.isUnreachable(.renewalUnknownKeyPair))
    }

    @Test("a failure retries its own certificate only; a renewal reschedules; a new certificate still due waits a day")
    func retries() {
        var schedule = RenewalSchedule(hostID: CMID.generate())
        let now = schedule.due(expires: Self.expires)
        let retry = schedule.failed(.vendorUnreachable, expires: Self.expires, now: now)
        #expect(retry == now.addingTimeInterval(300))
        #expect(schedule.nextAttempt(expires: Self.expires) == retry)
        // A certificate installed since (by hand, SIGHUP) is scheduled afresh.
        let other = Self.expires.addingTimeInterval(200 * 86_400)
        #expect(schedule.nextAttempt(expires: other) == schedule.due(expires: other))
        schedule.renewed(expires: other, now: retry)
        #expect(schedule.nextAttempt(expires: other) == schedule.due(expires: other))
        // A vendor that issued a certificate already within the margin: renewed again a day later, not at once.
        let short = retry.addingTimeInterval(10 * 86_400)
        schedule.renewed(expires: short, now: retry)
        #expect(schedule.nextAttempt(expires: short) == retry.addingTimeInterval(86_400))
    }

    @Test("reports: once a day between 01:00 and 07:00 UTC at the host's own time; a failure retries, never past the next day's time")
    func reports() {
        let day = Date(timeIntervalSince1970: Double(20_000) * 86_400)
        var schedule = ReportSchedule(hostID: CMID.generate())
        #expect(schedule.timeOfDay >= 3600 && schedule.timeOfDay < 7 * 3600)
        let today = day.addingTimeInterval(schedule.timeOfDay)
        #expect(schedule.next(after: day) == today)
        #expect(schedule.next(after: today) == today.addingTimeInterval(86_400))
        #expect(schedule.failed(.vendorUnreachable, now: today) == today.addingTimeInterval(300))
        #expect(schedule.failed(.reportChainBroken, now: today) == today.addingTimeInterval(86_400))
        #expect(schedule.sent(now: today) == today.addingTimeInterval(86_400))
    }
}
