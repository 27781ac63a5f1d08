import Foundation
import TallyCore
import Testing

@Suite("Client licence")
struct ClientLicenseTests {
    let installed = Fixed.epoch
    /// The machine's grace when its CMID was made at install.
    var graceEnds: Date { installed + 30 * Fixed.day }

    func license() -> ClientLicense {
        ClientLicense(sku: "studio-pro", setupKey: CatalogText.keys[0].description, installedAt: installed)
    }

    func response(_ res: ResultCode, ticket: String? = nil, ai: Int = 120, ri: Int = 10_080, cur: Int = 25, req: Int = 25) -> ResponseClaims {
        ResponseClaims(iss: "host", sub: "cmid", sku: "studio-pro", res: res, cur: cur, req: req, ai: ai, ri: ri,
                       htm: installed, nce: "n", tkt: ticket)
    }

    @Test("a new licence is in initial grace for 30 days with default intervals, due at once")
    func initialState() {
        let l = license()
        #expect(l.graceStatus == .initialGrace)
        #expect(l.activationInterval == 120)
        #expect(l.renewalInterval == 10_080)
        #expect(l.ticket == nil)
        #expect(l.nextAttempt == installed)
        #expect(l.isDue(at: installed))
    }

    @Test("without a ticket: initial grace, then notification after 30 days")
    func initialGraceThenNotification() {
        let l = license()
        #expect(l.status(at: installed, ticket: .none, graceEnds: graceEnds) == .initialGrace)
        #expect(l.status(at: installed + 30 * Fixed.day - 1, ticket: .none, graceEnds: graceEnds) == .initialGrace)
        #expect(l.status(at: installed + 30 * Fixed.day, ticket: .none, graceEnds: graceEnds) == .notification)
        #expect(l.status(at: installed + 400 * Fixed.day, ticket: .none, graceEnds: graceEnds) == .notification)
    }

    @Test("a valid ticket is licensed until it expires")
    func licensed() {
        let l = license()
        let expires = installed + 180 * Fixed.day
        #expect(l.status(at: installed + 100 * Fixed.day, ticket: .valid(expires: expires), graceEnds: graceEnds) == .licensed)
        #expect(l.status(at: expires - 1, ticket: .valid(expires: expires), graceEnds: graceEnds) == .licensed)
        // Licensed even after the install grace ended.
        #expect(l.status(at: installed + 31 * Fixed.day, ticket: .valid(expires: expires), graceEnds: graceEnds) == .licensed)
    }

    @Test("after the ticket expires: additional grace for 30 days, then notification")
    func additionalGraceThenNotification() {
        let l = license()
        let expires = installed + 180 * Fixed.day
        #expect(l.status(at: expires, ticket: .expired(at: expires), graceEnds: graceEnds) == .additionalGrace)
        #expect(l.status(at: expires, ticket: .valid(expires: expires), graceEnds: graceEnds) == .additionalGrace)
        #expect(l.status(at: expires + 30 * Fixed.day - 1, ticket: .expired(at: expires), graceEnds: graceEnds) == .additionalGrace)
        #expect(l.status(at: expires + 30 * Fixed.day, ticket: .expired(at: expires), graceEnds: graceEnds) == .notification)
        #expect(l.status(at: expires + 30 * Fixed.day, ticket: .valid(expires: expires), graceEnds: graceEnds) == .notification)
    }

    @Test("a ticket that does not verify gives non-genuine grace, then notification")
    func nonGenuineGrace() {
        let l = license()
        #expect(l.status(at: installed + Fixed.day, ticket: .invalid(reason: "badSignature"), graceEnds: graceEnds) == .nonGenuineGrace)
        #expect(l.status(at: installed + 30 * Fixed.day, ticket: .invalid(reason: "badSignature"), graceEnds: graceEnds) == .notification)
    }

    @Test("no grace at all (a CMID without a creation time, or one from the future): notification unless a ticket holds")
    func noGrace() {
        let l = license()
        #expect(l.status(at: installed, ticket: .none, graceEnds: nil) == .notification)
        #expect(l.status(at: installed, ticket: .invalid(reason: "x"), graceEnds: nil) == .notification)
        let expires = installed + 180 * Fixed.day
        #expect(l.status(at: installed, ticket: .valid(expires: expires), graceEnds: nil) == .licensed)
        #expect(l.status(at: expires + Fixed.day, ticket: .expired(at: expires), graceEnds: nil) == .additionalGrace)
    }

    @Test("after a rearm: extended grace for 30 days, then notification")
    func extendedGrace() {
        var l = license()
        let rearmed = installed + 100 * Fixed.day
        l.reset(now: rearmed, status: .extendedGrace)
        // The rearm's new CMID was made now: the machine's grace runs from it.
        let rearmedGrace = rearmed + 30 * Fixed.day
        #expect(l.status(at: rearmed, ticket: .none, graceEnds: rearmedGrace) == .extendedGrace)
        #expect(l.status(at: rearmed + 30 * Fixed.day - 1, ticket: .none, graceEnds: rearmedGrace) == .extendedGrace)
        #expect(l.status(at: rearmed + 30 * Fixed.day, ticket: .none, graceEnds: rearmedGrace) == .notification)
        #expect(l.isDue(at: rearmed))
    }

    @Test("jitter is up to a tenth of the interval, at most 12 hours, for fractions clamped to 0…1")
    func jitter() {
        #expect(ClientLicense.jitter(intervalMinutes: 120, fraction: 0) == 0)
        #expect(ClientLicense.jitter(intervalMinutes: 120, fraction: 1) == 720)
        #expect(ClientLicense.jitter(intervalMinutes: 120, fraction: 0.5) == 360)
        #expect(ClientLicense.jitter(intervalMinutes: 10_080, fraction: 1) == 12 * 3600)
        #expect(ClientLicense.jitter(intervalMinutes: 43_200, fraction: 1) == 12 * 3600)
        #expect(ClientLicense.jitter(intervalMinutes: 120, fraction: -3) == 0)
        #expect(ClientLicense.jitter(intervalMinutes: 120, fraction: 7) == 720)
    }

    @Test("a success stores the ticket and schedules the renewal at the renewal interval plus jitter",
          arguments: [(0.0, 0.0), (1.0, 12 * 3600.0), (0.25, 3 * 3600.0)])
    func applySuccess(_ fraction: Double, _ expectedJitter: TimeInterval) {
        var l = license()
        let now = installed + Fixed.day
        let expires = now + 180 * Fixed.day
        l.apply(response(.success, ticket: "tkt"), ticketExpires: expires, host: "kms.example:1688", now: now, jitter: fraction)
        #expect(l.ticket == "tkt")
        #expect(l.ticketExpires == expires)
        #expect(l.activatedAt == now)
        #expect(l.lastAttempt == now)
        #expect(l.lastResult == .success)
        #expect(l.lastHost == "kms.example:1688")
        #expect(l.hostCount == 25)
        #expect(l.requiredCount == 25)
        #expect(l.nextAttempt == now + 10_080 * Fixed.minute + expectedJitter)
        #expect(!l.isDue(at: now + 10_080 * Fixed.minute - 1))
        #expect(l.isDue(at: now + 10_080 * Fixed.minute + expectedJitter))
    }

    @Test("a short renewal interval's jitter is a tenth of it")
    func applySuccessShortInterval() {
        var l = license()
        l.apply(response(.success, ticket: "tkt", ri: 600), ticketExpires: installed + 180 * Fixed.day, host: nil, now: installed, jitter: 1)
        #expect(l.renewalInterval == 600)
        #expect(l.nextAttempt == installed + 600 * Fixed.minute + 3600)
    }

    @Test("a refusal keeps a still-valid ticket and retries at the activation interval")
    func refusalKeepsTicket() {
        var l = license()
        let expires = installed + 180 * Fixed.day
        l.apply(response(.success, ticket: "tkt"), ticketExpires: expires, host: "h1", now: installed, jitter: 0)
        let later = installed + 8 * Fixed.day
        l.apply(response(.countTooLow, ai: 60, cur: 12), ticketExpires: nil, host: "h2", now: later, jitter: 0)
        #expect(l.ticket == "tkt")
        #expect(l.ticketExpires == expires)
        #expect(l.activatedAt == installed)
        #expect(l.lastResult == .countTooLow)
        #expect(l.hostCount == 12)
        #expect(l.lastHost == "h2")
        #expect(l.activationInterval == 60)
        #expect(l.nextAttempt == later + 60 * Fixed.minute)
        #expect(l.status(at: later, ticket: .valid(expires: expires), graceEnds: graceEnds) == .licensed)
        // With full jitter: a tenth of an hour more.
        l.apply(response(.countTooLow, ai: 60), ticketExpires: nil, host: nil, now: later, jitter: 1)
        #expect(l.nextAttempt == later + 60 * Fixed.minute + 360)
    }

    @Test("a retry never waits past the ticket's expiry")
    func retryCappedAtTicketExpiry() {
        var l = license()
        let expires = installed + 180 * Fixed.day
        l.apply(response(.success, ticket: "tkt"), ticketExpires: expires, host: nil, now: installed, jitter: 0)
        let nearEnd = expires - 30 * Fixed.minute
        l.apply(response(.countTooLow, ai: 120), ticketExpires: nil, host: nil, now: nearEnd, jitter: 1)
        #expect(l.nextAttempt == expires)
        // Once expired, the normal interval applies.
        l.applyFailure(.noHostContacted, host: nil, now: expires + Fixed.hour, jitter: 0)
        #expect(l.nextAttempt == expires + Fixed.hour + 120 * Fixed.minute)
    }

    @Test("a success answer without a ticket is treated as a retry")
    func successWithoutTicket() {
        var l = license()
        l.apply(response(.success, ticket: nil), ticketExpires: nil, host: nil, now: installed, jitter: 0)
        #expect(l.ticket == nil)
        #expect(l.activatedAt == nil)
        #expect(l.nextAttempt == installed + 120 * Fixed.minute)
    }

    @Test("intervals from a host are clamped to 15 minutes … 30 days", arguments: [
        (1, 100_000, 15, 43_200), (-10, 0, 15, 15), (15, 43_200, 15, 43_200), (43_201, 14, 43_200, 15), (240, 20_160, 240, 20_160),
    ])
    func intervalsClamped(_ ai: Int, _ ri: Int, _ expectedAI: Int, _ expectedRI: Int) {
        var l = license()
        // A decoded answer may carry any numbers: bypass the clamping of ResponseClaims.init.
        var claims = response(.countTooLow)
        claims.ai = ai
        claims.ri = ri
        l.apply(claims, ticketExpires: nil, host: nil, now: installed, jitter: 0)
        #expect(l.activationInterval == expectedAI)
        #expect(l.renewalInterval == expectedRI)
        #expect(l.nextAttempt == installed + Double(expectedAI) * Fixed.minute)
        #expect(Intervals.clamp(minutes: ai) == expectedAI)
    }

    @Test("a failure notes the code and host and retries at the activation interval")
    func applyFailure() {
        var l = license()
        let now = installed + Fixed.hour
        l.applyFailure(.noHostContacted, host: "h", now: now, jitter: 0)
        #expect(l.lastResult == .noHostContacted)
        #expect(l.lastAttempt == now)
        #expect(l.lastHost == "h")
        #expect(l.ticket == nil)
        #expect(l.nextAttempt == now + 120 * Fixed.minute)
        #expect(!l.isDue(at: now + 120 * Fixed.minute - 1))
        #expect(l.isDue(at: now + 120 * Fixed.minute))
        l.applyFailure(.answerRejected, host: nil, now: now, jitter: 1)
        #expect(l.nextAttempt == now + 120 * Fixed.minute + 720)
        #expect(l.lastHost == nil)
    }

    @Test("reset drops the ticket and the host's numbers and restarts grace")
    func reset() {
        var l = license()
        l.apply(response(.success, ticket: "tkt"), ticketExpires: installed + 180 * Fixed.day, host: "h", now: installed, jitter: 0)
        let now = installed + 50 * Fixed.day
        l.reset(now: now, status: .initialGrace)
        #expect(l.ticket == nil)
        #expect(l.ticketExpires == nil)
        #expect(l.activatedAt == nil)
        #expect(l.lastResult == nil)
        #expect(l.hostCount == nil)
        #expect(l.requiredCount == nil)
        #expect(l.graceStatus == .initialGrace)
        #expect(l.nextAttempt == now)
    }

    @Test("a licence encodes and decodes unchanged")
    func codable() throws {
        var l = license()
        l.apply(response(.success, ticket: "tkt"), ticketExpires: installed + 180 * Fixed.day, host: "h", now: installed, jitter: 0)
        let back = try TallyJSON.decode(ClientLicense.self, from: TallyJSON.encode(l))
        #expect(back == l)
    }

    @Test("a renewal is scheduled no later than the ticket's expiry")
    func renewalBeforeShortTicketExpires() {
        // A host whose certificate expires in 2 days grants a ticket that expires with it.
        var l = license()
        let expires = installed + 2 * Fixed.day
        l.apply(response(.success, ticket: "tkt"), ticketExpires: expires, host: nil, now: installed, jitter: 0)
        #expect(l.nextAttempt <= expires)
    }
}

@Suite("Clock guard")
struct ClockGuardTests {
    @Test("a clock moving forward moves the high-water mark")
    func forward() {
        var clock = ClockGuard(highWater: Fixed.epoch)
        let reading = clock.observe(Fixed.epoch + Fixed.hour)
        #expect(reading.trusted == Fixed.epoch + Fixed.hour)
        #expect(!reading.rolledBack)
        #expect(clock.highWater == Fixed.epoch + Fixed.hour)
    }

    @Test("a clock set back within 4 hours is used and does not lower the mark")
    func smallRollback() {
        var clock = ClockGuard(highWater: Fixed.epoch)
        let reading = clock.observe(Fixed.epoch - 3 * Fixed.hour)
        #expect(!reading.rolledBack)
        #expect(reading.trusted == Fixed.epoch - 3 * Fixed.hour)
        #expect(clock.highWater == Fixed.epoch)
        let exact = clock.observe(Fixed.epoch - 4 * Fixed.hour)
        #expect(!exact.rolledBack)
    }

    @Test("a clock set back beyond 4 hours is reported and the high-water mark used")
    func largeRollback() {
        var clock = ClockGuard(highWater: Fixed.epoch)
        let reading = clock.observe(Fixed.epoch - 4 * Fixed.hour - 1)
        #expect(reading.rolledBack)
        #expect(reading.trusted == Fixed.epoch)
        #expect(clock.highWater == Fixed.epoch)
        let days = clock.observe(Fixed.epoch - 300 * Fixed.day)
        #expect(days.rolledBack)
        #expect(days.trusted == Fixed.epoch)
        // When the clock is set right again, it is trusted again.
        let fixed = clock.observe(Fixed.epoch + Fixed.day)
        #expect(!fixed.rolledBack)
        #expect(clock.highWater == Fixed.epoch + Fixed.day)
    }

    @Test("the tolerance is configurable and a fresh guard trusts any time")
    func toleranceAndFresh() {
        var clock = ClockGuard(highWater: Fixed.epoch)
        #expect(clock.observe(Fixed.epoch - 61, tolerance: 60).rolledBack)
        #expect(!clock.observe(Fixed.epoch - 60, tolerance: 60).rolledBack)
        var fresh = ClockGuard()
        #expect(!fresh.observe(Date(timeIntervalSince1970: 0)).rolledBack)
    }

    @Test("a host-signed time is a floor a lowered high-water mark cannot go below")
    func hostSignedFloor() {
        // The high-water mark as someone edited it: far in the past.
        var clock = ClockGuard(highWater: Fixed.epoch)
        let signed = Fixed.days(170)
        let reading = clock.observe(Fixed.days(100), hostSigned: signed)
        #expect(reading.rolledBack)
        #expect(reading.trusted == signed)
        #expect(reading.hostSigned == signed)
        // The mark keeps what this clock said; the floor is the host's time while the token is held.
        #expect(clock.highWater == Fixed.epoch)
        // Within the tolerance of the host's time (its clock may run up to 4 h ahead) the clock is used.
        var near = ClockGuard(highWater: Fixed.epoch)
        let ahead = near.observe(signed - 3 * Fixed.hour, hostSigned: signed)
        #expect(!ahead.rolledBack)
        #expect(ahead.trusted == signed - 3 * Fixed.hour)
        // A later clock moves past the floor.
        let later = clock.observe(Fixed.days(171), hostSigned: signed)
        #expect(!later.rolledBack)
        #expect(later.trusted == Fixed.days(171))
    }
}

@Suite("Client machine")
struct ClientMachineTests {
    let fingerprint = MachineFingerprint.compute(machineID: "machine-a", productUUID: "uuid-a")

    func machine() -> ClientMachine {
        var m = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch)
        var l = ClientLicense(sku: "studio-pro", setupKey: "k", installedAt: Fixed.epoch)
        l.apply(ResponseClaims(iss: "h", sub: m.cmid, sku: "studio-pro", res: .success, cur: 25, req: 25, ai: 120, ri: 10_080,
                               htm: Fixed.epoch, nce: "n", tkt: "tkt"),
                ticketExpires: Fixed.days(180), host: "h", now: Fixed.epoch, jitter: 0)
        m.licenses["studio-pro"] = l
        m.licenses["studio-server"] = ClientLicense(sku: "studio-server", setupKey: "k2", installedAt: Fixed.epoch)
        return m
    }

    @Test("a new machine has no rearms and its clock mark at now")
    func initial() {
        let m = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch)
        #expect(m.rearmCount == 0)
        #expect(m.clock.highWater == Fixed.epoch)
        #expect(m.licenses.isEmpty)
        #expect(CMID.validate(m.cmid) == m.cmid)
        #expect(ClientMachine(fingerprint: fingerprint, now: Fixed.epoch).cmid != m.cmid)
        // The CMID carries its creation time, and the machine's grace runs 30 days from it.
        #expect(m.createdAt == Fixed.epoch)
        #expect(!m.hasLegacyCMID)
        #expect(m.graceEnds(at: Fixed.epoch) == Fixed.days(30))
    }

    @Test("grace comes from the CMID: none for a CMID without a time, none for one made after the clock")
    func graceFromTheCMID() {
        let legacy = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch, cmid: "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a")
        #expect(legacy.hasLegacyCMID)
        #expect(legacy.graceEnds(at: Fixed.epoch) == nil)
        // A CMID edited to start in 2099: not believed, so no grace at all.
        let future = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch, cmid: CMID.generate(at: Date(timeIntervalSince1970: 4_070_908_800)))
        #expect(future.cmidIsFromTheFuture(at: Fixed.days(10)))
        #expect(future.graceEnds(at: Fixed.days(10)) == nil)
        // Within the clock tolerance of the CMID's time is fine (a clock a little behind).
        let m = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch)
        #expect(m.graceEnds(at: Fixed.epoch - 3 * Fixed.hour) == Fixed.days(30))
        #expect(m.graceEnds(at: Fixed.epoch - 5 * Fixed.hour) == nil)
    }

    @Test("a legacy CMID is replaced by one made now, in initial grace, its tickets dropped")
    func replaceLegacy() {
        var m = machine()
        m.cmid = "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
        m.replaceLegacyCMID(now: Fixed.days(40))
        #expect(m.createdAt == Fixed.days(40))
        #expect(m.graceEnds(at: Fixed.days(40)) == Fixed.days(70))
        #expect(m.licenses.values.allSatisfy { $0.ticket == nil && $0.graceStatus == .initialGrace })
        #expect(m.rearmCount == 0)
    }

    @Test("the same fingerprint keeps everything")
    func adoptSameFingerprint() {
        var m = machine()
        let before = m
        let copied = m.adopt(fingerprint: fingerprint, now: Fixed.days(5))
        #expect(!copied)
        #expect(m == before)
    }

    @Test("another fingerprint gives a new CMID and drops every ticket")
    func adoptOtherFingerprint() {
        var m = machine()
        let oldCMID = m.cmid
        let other = MachineFingerprint.compute(machineID: "machine-a", productUUID: "uuid-b")
        let now = Fixed.days(5)
        let copied = m.adopt(fingerprint: other, now: now)
        #expect(copied)
        #expect(m.cmid != oldCMID)
        #expect(CMID.validate(m.cmid) == m.cmid)
        #expect(m.fingerprint == other)
        #expect(m.licenses.count == 2)
        for license in m.licenses.values {
            #expect(license.ticket == nil)
            #expect(license.ticketExpires == nil)
            #expect(license.graceStatus == .initialGrace)
            #expect(license.isDue(at: now))
            #expect(license.status(at: now, ticket: .none, graceEnds: m.graceEnds(at: now)) == .initialGrace)
        }
        #expect(m.graceEnds(at: now) == now + 30 * Fixed.day)
        #expect(m.rearmCount == 0)
    }

    @Test("rearm makes a new CMID and extended grace, up to the limit, then C004D307")
    func rearmUpToLimit() throws {
        var m = machine()
        var cmids: Set<String> = [m.cmid]
        for i in 1...5 {
            let now = Fixed.days(Double(i))
            try m.rearm(limit: 5, now: now)
            #expect(m.rearmCount == i)
            #expect(cmids.insert(m.cmid).inserted)
            #expect(m.createdAt == now)
            for license in m.licenses.values {
                #expect(license.ticket == nil)
                #expect(license.graceStatus == .extendedGrace)
                #expect(license.status(at: now, ticket: .none, graceEnds: m.graceEnds(at: now)) == .extendedGrace)
            }
        }
        let cmid = m.cmid
        #expect(throws: TallyError(.rearmLimitReached, "")) { try m.rearm(limit: 5, now: Fixed.days(6)) }
        #expect(m.rearmCount == 5)
        #expect(m.cmid == cmid)
        do {
            try m.rearm(limit: 5, now: Fixed.days(7))
        } catch {
            #expect(error.code == .rearmLimitReached)
            #expect(error.code.hex == "0xC004D307")
        }
    }

    @Test("a rearm limit of 0 refuses the first rearm")
    func rearmLimitZero() {
        var m = machine()
        #expect(throws: TallyError(.rearmLimitReached, "")) { try m.rearm(limit: 0, now: Fixed.epoch) }
        #expect(m.licenses["studio-pro"]?.ticket == "tkt")
    }

    @Test("a machine's state encodes and decodes unchanged")
    func codable() throws {
        var m = machine()
        _ = m.clock.observe(Fixed.days(2))
        let back = try TallyJSON.decode(ClientMachine.self, from: TallyJSON.encode(m))
        #expect(back == m)
    }

    @Test("fingerprints and CMIDs are normalised")
    func identities() {
        #expect(MachineFingerprint.compute(machineID: " ABC\n", productUUID: "UUID") == MachineFingerprint.compute(machineID: "abc", productUUID: "uuid"))
        #expect(MachineFingerprint.compute(machineID: "abc", productUUID: nil) != MachineFingerprint.compute(machineID: "abc", productUUID: "uuid"))
        #expect(MachineFingerprint.compute(machineID: "abc", productUUID: nil).count == 64)
        #expect(CMID.validate("0F8D7C6B-5A49-4382-9170-6F5E4D3C2B1A") == "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a")
        #expect(CMID.validate("not-a-uuid") == nil)
        let cmid = CMID.generate()
        #expect(cmid == cmid.lowercased())
    }

    @Test("CMIDs are UUIDv7: version and variant set, the creation time to the millisecond, random bits differ")
    func uuidV7() throws {
        let at = Date(timeIntervalSince1970: 1_767_225_600.123)
        let cmid = CMID.generate(at: at)
        #expect(CMID.validate(cmid) == cmid)
        let uuid = try #require(UUID(uuidString: cmid))
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
        let created = try #require(CMID.creationTime(of: cmid))
        #expect(abs(created.timeIntervalSince(at)) < 0.001)
        #expect(Set((0..<100).map { _ in CMID.generate(at: at) }).count == 100)
        // A random (version 4) UUID, as an older Tally made, carries no time.
        #expect(CMID.creationTime(of: "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a") == nil)
        #expect(CMID.creationTime(of: UUID().uuidString) == nil)
        #expect(CMID.creationTime(of: "not-a-uuid") == nil)
    }
}
