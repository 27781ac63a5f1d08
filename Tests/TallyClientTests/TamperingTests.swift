import Foundation
import Testing
@testable import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

/// What a licensee with root on its own machine tries, through the files it would edit. Each test takes the
/// attacker's path and checks what the client then believes (SECURITY.md points here).
@Suite("Tampering with the client's state")
struct TamperingTests {
    /// A certificate for a host of the attacker's own, signed by the attacker's own root, covering studio-pro.
    static func attackerHost(root: SigningKey, hostKey: SigningKey, now: Date) throws -> HostCertificate {
        let claims = HostCertificateClaims(iss: "acme", sub: UUID().uuidString.lowercased(), hostKey: hostKey.publicJWK,
                                           hkh: String(repeating: "00", count: 32), grp: "studio-2026",
                                           skus: [CertifiedSKU(sku: "studio-pro", class: "client")], thr: ["client": 1],
                                           serial: 1, issuedAt: now, validity: 51 * 365 * Fixed.day)
        let compact = try HostCertificate.issue(claims, root: root)
        return try HostCertificate.verify(compact, roots: TrustedRoots([root.publicJWK]), now: now)
    }

    @Test("a root appended to the state's profile.json is not trusted: its certificate and ticket leave the machine unlicensed")
    func rootAddedToTheState() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid

        // The attacker's path: its own Ed25519 root appended to the profile in the state directory (where an older
        // Tally kept it), a host certificate signed with it, and a ticket for this very machine.
        let root = SigningKey.generate(kidPrefix: "evil-")
        let hostKey = SigningKey.generate()
        var edited = fixture.profile
        edited.roots.append(root.publicJWK)
        try fixture.directory("m1").writeJSON(edited, to: "profile.json")
        let certificate = try Self.attackerHost(root: root, hostKey: hostKey, now: Fixed.epoch)
        let claims = TicketClaims(iss: certificate.claims.sub, sub: cmid, sku: "studio-pro", fpr: ClientFixture.machine("m1").fingerprint,
                                  cnt: 1, iat: Fixed.epoch, rnw: Fixed.days(7), exp: Fixed.days(180))
        let ticket = try VerifiedTicket.issue(claims, hostKey: hostKey.privateKey, certificate: certificate)
        try fixture.editMachineJSON("m1") { machine in
            var licenses = machine["licenses"] as! [String: Any]
            var license = licenses["studio-pro"] as! [String: Any]
            license["ticket"] = ticket
            license["ticketExpires"] = "2026-06-30T00:00:00Z"
            licenses["studio-pro"] = license
            machine["licenses"] = licenses
        }

        // The ticket would verify under the edited roots: the forgery itself is sound.
        #expect(throws: Never.self) {
            try VerifiedTicket.verify(ticket, roots: edited.trustedRoots(), now: Fixed.days(1), cmid: cmid,
                                      fingerprint: ClientFixture.machine("m1").fingerprint, sku: "studio-pro")
        }
        // The application's client (and a new one, as after a restart) trusts only the roots it was given.
        for reader in [client, fixture.client("m1")] {
            let report = try reader.status(now: Fixed.days(1))
            #expect(report.licenseStatus == .nonGenuineGrace)
            #expect(report.ticket == nil)
            #expect(report.ticketProblem?.contains("not certified by this vendor") == true)
        }
        // An answer from the attacker's host is refused the same way, and its ticket is not stored.
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA"
        let answer = try VerifiedResponse.issue(
            ResponseClaims(iss: certificate.claims.sub, sub: cmid, sku: "studio-pro", res: .success, cur: 1, req: 1, ai: 120, ri: 10_080,
                           htm: Fixed.days(1), nce: nonce, tkt: ticket),
            hostKey: hostKey.privateKey, certificate: certificate)
        #expect(tallyError { try client.applyAnswer(answer, nonce: nonce, now: Fixed.days(1)) }?.code == .tokenRejected)
        #expect(try client.status(now: Fixed.days(1)).licenseStatus == .nonGenuineGrace)
    }

    @Test("a ticket minted with the host's own key for 400 days is refused, in an answer and in the state")
    func ticketMintedForFourHundredDays() throws {
        // A host certificate of two years, so the certificate's expiry is not what refuses the ticket.
        let host = try ActivatedHost(now: Fixed.epoch, certificateValidity: 730 * Fixed.day)
        let profile = try host.profile()
        let temp = TemporaryDirectory()
        let identity = ClientFixture.machine("m1")
        let client = TallyClient(stateDirectory: temp.path("m1"), identity: identity, profile: profile,
                                 discovery: DiscoveryOptions(resolvConfPath: "/dev/null"))
        let cmid = try client.installKey(try #require(profile.skus.first { $0.id == "studio-pro" }).setupKey, now: Fixed.epoch).cmid
        // The licensee owns the host, so it holds the host's private key and signs what it likes with it.
        let key = try host.host.signingKey().privateKey
        let minted = try VerifiedTicket.issue(
            TicketClaims(iss: host.certificate.claims.sub, sub: cmid, sku: "studio-pro", fpr: identity.fingerprint, cnt: 25,
                         iat: Fixed.epoch, rnw: Fixed.days(7), exp: Fixed.days(400)),
            hostKey: key, certificate: host.certificate)
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA"
        let answer = try VerifiedResponse.issue(
            ResponseClaims(iss: host.certificate.claims.sub, sub: cmid, sku: "studio-pro", res: .success, cur: 25, req: 25, ai: 120,
                           ri: 10_080, htm: Fixed.epoch, nce: nonce, tkt: minted),
            hostKey: key, certificate: host.certificate)
        let error = tallyError { try client.applyAnswer(answer, nonce: nonce, now: Fixed.epoch) }
        #expect(error?.code == .tokenRejected)
        #expect(error?.message.contains("400 days") == true)
        #expect(try client.status(now: Fixed.days(1)).licenseStatus == .initialGrace)

        // Written into machine.json directly, it is not believed either, on day 1 nor on day 300.
        var machine = try StateDirectory(temp.path("m1")).readJSON(ClientMachine.self, from: "machine.json")
        machine.licenses["studio-pro"]!.ticket = minted
        machine.licenses["studio-pro"]!.ticketExpires = Fixed.days(400)
        try StateDirectory(temp.path("m1")).writeJSON(machine, to: "machine.json")
        let report = try client.status(now: Fixed.days(1))
        #expect(report.licenseStatus == .nonGenuineGrace)
        #expect(report.ticketProblem?.contains("lifetimeTooLong") == true)
        #expect(try client.status(now: Fixed.days(300)).licenseStatus == .notification)
    }

    @Test("a lowered high-water mark does not take the clock below the newest host-signed time")
    func loweredHighWaterMark() throws {
        let fixture = try ClientFixture()
        let (client, granted) = try fixture.activated()  // ticket issued at day 0, expires day 180
        // Day 185: the host refused to renew (the count fell), in a signed answer; the ticket has expired.
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA"
        let refusal = try fixture.answer(cmid: granted.cmid, result: .countTooLow, current: 3, nonce: nonce, ticket: nil, at: Fixed.days(185))
        _ = try client.applyAnswer(refusal, nonce: nonce, now: Fixed.days(185))
        #expect(try client.status(now: Fixed.days(185)).licenseStatus == .additionalGrace)

        // The attacker's path: the clock set back to day 100 and the high-water mark in machine.json lowered to match.
        try fixture.editMachineJSON("m1") { machine in
            machine["clock"] = ["highWater": "2026-01-02T00:00:00Z"]
        }
        let report = try client.status(now: Fixed.days(100))
        #expect(report.licenseStatus == .additionalGrace)
        #expect(report.clockRolledBack)
        #expect(report.trustedTime == Fixed.days(185))
        #expect(report.newestHostTime == Fixed.days(185))

        // The answer removed as well, the ticket's own signed issue time is still a floor: never before day 0.
        try fixture.editMachineJSON("m1") { machine in
            machine["clock"] = ["highWater": "2025-01-01T00:00:00Z"]
            machine["lastAnswer"] = nil
        }
        let early = try client.status(now: Fixed.days(-100))
        #expect(early.clockRolledBack)
        #expect(early.trustedTime == Fixed.epoch)
        #expect(early.newestHostTime == Fixed.epoch)
    }

    @Test("a host whose clock ran ahead moves the floor only until the next answer from a host whose clock is right")
    func hostClockAheadIsForgotten() throws {
        let fixture = try ClientFixture()
        let (client, granted) = try fixture.activated()
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA"
        // A host whose clock is 300 days ahead refuses (the clocks differ), signing its own time.
        let skewed = try fixture.answer(cmid: granted.cmid, result: .clockSkew, nonce: nonce, ticket: nil, at: Fixed.days(300))
        _ = try client.applyAnswer(skewed, nonce: nonce, now: Fixed.days(1))
        let ahead = try client.status(now: Fixed.days(2))
        #expect(ahead.clockRolledBack)
        #expect(ahead.trustedTime == Fixed.days(300))
        #expect(ahead.licenseStatus == .notification)
        // A time past the host's own certificate (which no host signs at) is no floor at all.
        let beyond = try fixture.answer(cmid: granted.cmid, result: .clockSkew, nonce: nonce, ticket: nil, at: Fixed.days(400))
        _ = try client.applyAnswer(beyond, nonce: nonce, now: Fixed.days(2))
        #expect(try client.status(now: Fixed.days(2)).newestHostTime == Fixed.epoch)
        // Its clock set right, the host answers again: the floor is its time now, and the ticket holds again.
        let fixed = try fixture.answer(cmid: granted.cmid, result: .countTooLow, nonce: nonce, ticket: nil, at: Fixed.days(2))
        _ = try client.applyAnswer(fixed, nonce: nonce, now: Fixed.days(2))
        let back = try client.status(now: Fixed.days(2))
        #expect(!back.clockRolledBack)
        #expect(back.licenseStatus == .licensed)
        #expect(back.newestHostTime == Fixed.days(2))
    }

    @Test("a later grace end in machine.json is not believed; only a new CMID restarts grace")
    func laterGraceEnd() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid
        #expect(try client.status(now: Fixed.days(31)).licenseStatus == .notification)

        // The attacker's path: grace (and the install time) moved to 2099 in the file.
        try fixture.editMachineJSON("m1") { machine in
            var licenses = machine["licenses"] as! [String: Any]
            var license = licenses["studio-pro"] as! [String: Any]
            license["graceEnds"] = "2099-01-01T00:00:00Z"
            license["installedAt"] = "2099-01-01T00:00:00Z"
            licenses["studio-pro"] = license
            machine["licenses"] = licenses
        }
        let report = try client.status(now: Fixed.days(31))
        #expect(report.licenseStatus == .notification)
        #expect(report.graceEnds == Fixed.days(30))
        #expect(report.cmid == cmid)

        // The CMID edited to one made in 2099: not believed either, so no grace at all.
        let future = CMID.generate(at: Date(timeIntervalSince1970: 4_070_908_800))
        try fixture.editMachineJSON("m1") { $0["cmid"] = future }
        let fromTheFuture = try client.status(now: Fixed.days(31))
        #expect(fromTheFuture.licenseStatus == .notification)
        #expect(fromTheFuture.graceEnds == nil)
        #expect(fromTheFuture.ticketProblem?.contains("after this clock's time") == true)

        // A CMID made today does restart grace: but it is another CMID, which the host counts as a new machine.
        let fresh = CMID.generate(at: Fixed.days(31))
        try fixture.editMachineJSON("m1") { $0["cmid"] = fresh }
        let restarted = try client.status(now: Fixed.days(32))
        #expect(restarted.licenseStatus == .initialGrace)
        #expect(restarted.cmid == fresh)
        #expect(restarted.cmid != cmid)
        #expect(restarted.graceEnds == Fixed.days(61))
    }

    @Test("a CMID of an older Tally: kept while its ticket is genuine, replaced by a new one once it needs grace")
    func legacyCMID() throws {
        let fixture = try ClientFixture()
        let legacy = "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
        let fingerprint = ClientFixture.machine("m1").fingerprint
        // A state as an older Tally wrote it: a random CMID, a stored profile, grace dates in the licence.
        var machine = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch, cmid: legacy)
        var license = ClientLicense(sku: "studio-pro", setupKey: fixture.setupKey("studio-pro"), installedAt: Fixed.epoch)
        license.ticket = try fixture.ticket(cmid: legacy, fingerprint: fingerprint)
        license.ticketExpires = Fixed.days(180)
        machine.licenses["studio-pro"] = license
        try fixture.writeMachineState(machine, "m1")
        try fixture.directory("m1").writeJSON(fixture.profile, to: "profile.json")

        let licensed = try fixture.client().status(now: Fixed.days(10))
        #expect(licensed.licenseStatus == .licensed)
        #expect(licensed.cmid == legacy)
        #expect(!licensed.legacyCMIDReplaced)
        #expect(licensed.cmidCreated == nil)

        // A second SKU installed after the update needs grace, which a CMID without a time cannot give.
        let installed = try fixture.client().installKey(fixture.setupKey("studio-server"), now: Fixed.days(20))
        #expect(installed.newMachine)
        #expect(installed.cmid != legacy)
        #expect(CMID.creationTime(of: installed.cmid) == Fixed.days(20))
        let report = try fixture.client().status(sku: "studio-server", now: Fixed.days(21))
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.graceEnds == Fixed.days(50))

        // A legacy state that never activated moves to a new CMID at its first read.
        var waiting = ClientMachine(fingerprint: fingerprint, now: Fixed.epoch, cmid: legacy)
        waiting.licenses["studio-pro"] = ClientLicense(sku: "studio-pro", setupKey: fixture.setupKey("studio-pro"), installedAt: Fixed.epoch)
        try fixture.writeMachineState(waiting, "m2")
        let moved = try fixture.client("m2", identity: ClientFixture.machine("m1")).status(now: Fixed.days(5))
        #expect(moved.legacyCMIDReplaced)
        #expect(moved.cmid != legacy)
        #expect(moved.licenseStatus == .initialGrace)
        #expect(moved.ticketProblem?.contains("older Tally") == true)
        #expect(try fixture.machineState("m2").cmid == moved.cmid)
    }
}

@Suite("Tampering with the rearm count on a live host", .serialized)
struct RearmCountLiveTests {
    @Test("a reset rearm count only buys rearms whose new CMIDs the host counts and lists, all with this machine's fingerprint")
    func resetRearmCount() async throws {
        let live = try await LiveHost()
        let profile = try live.fixture.profile()
        let temp = TemporaryDirectory()
        let identity = MachineIdentity(machineID: "rearm-machine", name: "rearm")
        let client = TallyClient(stateDirectory: temp.path("c"), identity: identity, profile: profile,
                                 discovery: DiscoveryOptions(resolvConfPath: "/dev/null"))
        try client.installKey(try #require(profile.skus.first { $0.id == "studio-server" }).setupKey, now: live.clock.now())
        try client.setHost("127.0.0.1:\(live.port)")
        var cmids = [try client.activate(now: live.clock.now()).cmid]
        for _ in 1...profile.rearmLimit {
            cmids.append(try client.rearm(now: live.clock.now()).cmid)
            #expect(try client.activate(now: live.clock.now()).cmid == cmids.last)
        }
        #expect(tallyError { try client.rearm(now: live.clock.now()) }?.code == .rearmLimitReached)

        // The attacker's path: the rearm count set back to 0 in machine.json.
        let url = URL(fileURLWithPath: temp.path("c")).appendingPathComponent("machine.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["rearmCount"] = 0
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        let extra = try client.rearm(now: live.clock.now())
        #expect(extra.rearmCount == 1)
        let outcome = try client.activate(now: live.clock.now())
        #expect(outcome.cmid == extra.cmid)
        cmids.append(extra.cmid)
        #expect(Set(cmids).count == profile.rearmLimit + 2)
        // The host counted every CMID, and lists each with the one fingerprint they share.
        #expect(outcome.hostCount == profile.rearmLimit + 2)
        await live.stop()
        let store = try SQLiteHostStore(path: live.fixture.host.directory.file(HostRuntime.storeFile).path)
        let clients = try await store.clients(ClientQuery())
        #expect(Set(clients.map(\.cmid)) == Set(cmids))
        #expect(Set(clients.map(\.fingerprint)) == [identity.fingerprint])
    }
}
