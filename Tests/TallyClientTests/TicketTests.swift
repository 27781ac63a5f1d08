import Foundation
import Testing
@testable import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// The ticket a client holds is verified offline at every status, and only a genuine ticket for this machine
/// counts.
@Suite("Offline ticket verification")
struct TicketTests {
    @Test("a genuine ticket: Licensed until it expires, then additional grace, then notification")
    func genuine() throws {
        let fixture = try ClientFixture()
        let (client, outcome) = try fixture.activated()
        #expect(outcome.granted)
        #expect(outcome.licenseStatus == .licensed)
        let report = try client.status(now: Fixed.days(10))
        #expect(report.licenseStatus == .licensed)
        #expect(report.expires == Fixed.days(180))
        #expect(report.ticketProblem == nil)
        #expect(report.ticket?.count == 25)
        #expect(report.ticket?.vendor == "acme")
        #expect(try client.status(now: Fixed.days(181)).licenseStatus == .additionalGrace)
        #expect(try client.status(now: Fixed.days(181)).expires == Fixed.days(210))
        #expect(try client.status(now: Fixed.days(211)).licenseStatus == .notification)
    }

    @Test("another machine's ticket in this machine's state is not trusted")
    func otherMachinesTicket() throws {
        let fixture = try ClientFixture()
        let (client, _) = try fixture.activated("m1")
        var machine = try fixture.machineState("m1")
        // A ticket genuinely issued by the host, for this CMID but another machine's fingerprint.
        machine.licenses["studio-pro"]!.ticket = try fixture.ticket(cmid: machine.cmid, fingerprint: ClientFixture.machine("m2").fingerprint)
        try fixture.writeMachineState(machine, "m1")
        let report = try client.status(now: Fixed.days(1))
        #expect(report.licenseStatus == .nonGenuineGrace)
        #expect(report.ticketProblem?.contains("another machine") == true)
        #expect(report.ticket == nil)

        // And one for another CMID.
        machine.licenses["studio-pro"]!.ticket = try fixture.ticket(cmid: CMID.generate(), fingerprint: ClientFixture.machine("m1").fingerprint)
        try fixture.writeMachineState(machine, "m1")
        #expect(try client.status(now: Fixed.days(1)).licenseStatus == .nonGenuineGrace)
    }

    @Test("a tampered ticket is Non-genuine grace, never Licensed")
    func tampered() throws {
        let fixture = try ClientFixture()
        let (client, _) = try fixture.activated()
        var machine = try fixture.machineState("m1")
        let parts = machine.licenses["studio-pro"]!.ticket!.split(separator: ".").map(String.init)
        var claims = try TallyJSON.decode(TicketClaims.self, from: Base64URL.decode(parts[1])!)
        claims.exp = NumericDate(Fixed.days(3650))
        let forged = [parts[0], Base64URL.encode(try TallyJSON.encode(claims)), parts[2]].joined(separator: ".")
        machine.licenses["studio-pro"]!.ticket = forged
        machine.licenses["studio-pro"]!.ticketExpires = Fixed.days(3650)
        try fixture.writeMachineState(machine, "m1")

        let report = try client.status(now: Fixed.days(1))
        #expect(report.licenseStatus == .nonGenuineGrace)
        #expect(report.ticketProblem?.contains("badSignature") == true)
        // Still not trusted after the genuine expiry: the forged date buys nothing.
        #expect(try client.status(now: Fixed.days(200)).licenseStatus == .notification)
    }

    @Test("a ticket from another vendor's host is not trusted")
    func foreignVendor() throws {
        let fixture = try ClientFixture()
        let (client, _) = try fixture.activated()
        let foreign = try ActivatedHost(now: Fixed.epoch)
        var machine = try fixture.machineState("m1")
        machine.licenses["studio-pro"]!.ticket = try fixture.ticket(cmid: machine.cmid, fingerprint: machine.fingerprint, from: foreign)
        try fixture.writeMachineState(machine, "m1")
        let report = try client.status(now: Fixed.days(1))
        #expect(report.licenseStatus == .nonGenuineGrace)
        #expect(report.ticketProblem?.contains("not certified by this vendor") == true)
    }

    @Test("a ticket whose host certificate starts a little after the client's clock is still genuine")
    func hostClockAhead() throws {
        let fixture = try ClientFixture()
        let (client, _) = try fixture.activated("m1", at: Fixed.epoch)
        // The client's clock runs 2 hours behind the host that issued the ticket at the certificate's start.
        let report = try client.status(now: Fixed.epoch.addingTimeInterval(-2 * Fixed.hour))
        #expect(report.licenseStatus == .licensed)
    }
}

@Suite("Applying signed answers")
struct AnswerTests {
    let nonce = "AAAAAAAAAAAAAAAAAAAAAA"

    @Test("a refusal carries the counts and keeps a ticket that is still valid")
    func refusalKeepsTicket() throws {
        let fixture = try ClientFixture()
        let (client, granted) = try fixture.activated()
        let refusal = try fixture.answer(cmid: granted.cmid, result: .countTooLow, current: 12, required: 25, nonce: nonce, ticket: nil,
                                         at: Fixed.days(7))
        let outcome = try client.applyAnswer(refusal, nonce: nonce, now: Fixed.days(7))
        #expect(outcome.result == .countTooLow)
        #expect(!outcome.granted)
        #expect(outcome.hostCount == 12)
        #expect(outcome.requiredCount == 25)
        #expect(outcome.licenseStatus == .licensed)
        let report = try client.status(now: Fixed.days(8))
        #expect(report.lastResult == .countTooLow)
        #expect(report.licenseStatus == .licensed)
        // Retry at the activation interval (120 min plus at most 12 min of jitter), not the renewal interval.
        #expect(report.nextAttempt > Fixed.days(7).addingTimeInterval(119 * 60))
        #expect(report.nextAttempt <= Fixed.days(7).addingTimeInterval(132 * 60))
    }

    @Test("a first refusal leaves the machine in initial grace with the counts")
    func firstRefusal() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid
        let outcome = try client.applyAnswer(fixture.answer(cmid: cmid, result: .countTooLow, current: 3, required: 25, nonce: nonce, ticket: nil),
                                             nonce: nonce, now: Fixed.epoch)
        #expect(outcome.licenseStatus == .initialGrace)
        #expect(outcome.result.hex == "0xC004F038")
    }

    @Test("a replayed answer (another nonce) is rejected and nothing in it is trusted")
    func replay() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid
        let ticket = try fixture.ticket(cmid: cmid, fingerprint: ClientFixture.machine("m1").fingerprint)
        let old = try fixture.answer(cmid: cmid, nonce: "BBBBBBBBBBBBBBBBBBBBBB", ticket: ticket)
        let error = tallyError { try client.applyAnswer(old, nonce: nonce, now: Fixed.epoch) }
        #expect(error?.code == .answerRejected)
        let report = try client.status(now: Fixed.epoch)
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.lastResult == .answerRejected)
        #expect(try fixture.machineState("m1").licenses["studio-pro"]?.ticket == nil)
    }

    @Test("answers for another CMID, another SKU, or from another vendor's host are rejected")
    func wrongAnswers() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid
        let fingerprint = ClientFixture.machine("m1").fingerprint
        let otherCMID = try fixture.answer(cmid: CMID.generate(), nonce: nonce, ticket: nil, at: Fixed.epoch)
        #expect(tallyError { try client.applyAnswer(otherCMID, nonce: nonce, now: Fixed.epoch) }?.code == .answerRejected)

        let otherSKU = try fixture.answer(cmid: cmid, sku: "studio-server", nonce: nonce,
                                          ticket: fixture.ticket(cmid: cmid, fingerprint: fingerprint, sku: "studio-server"))
        #expect(tallyError { try client.applyAnswer(otherSKU, nonce: nonce, sku: "studio-pro", now: Fixed.epoch) }?.code == .answerRejected)

        let foreign = try ActivatedHost(now: Fixed.epoch)
        let forged = try fixture.answer(cmid: cmid, nonce: nonce, ticket: fixture.ticket(cmid: cmid, fingerprint: fingerprint, from: foreign),
                                        from: foreign)
        #expect(tallyError { try client.applyAnswer(forged, nonce: nonce, now: Fixed.epoch) }?.code == .tokenRejected)

        let grantedWithoutTicket = try fixture.answer(cmid: cmid, nonce: nonce, ticket: nil)
        #expect(tallyError { try client.applyAnswer(grantedWithoutTicket, nonce: nonce, now: Fixed.epoch) }?.code == .answerRejected)
        #expect(try client.status(now: Fixed.epoch).licenseStatus == .initialGrace)
    }
}
