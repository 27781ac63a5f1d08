import Foundation
import Testing
@testable import TallyClient
import TallyCore
import TallyFiles
import TallyTestSupport

@Suite("Client state: persistence, corruption, copies, clock, rearm")
struct StateTests {
    @Test("state and settings survive a new client instance (a restart)")
    func reload() throws {
        let fixture = try ClientFixture()
        let (client, outcome) = try fixture.activated()
        try client.setHost("[::1]:1700")
        try client.setDomain("Corp.Example.com.")
        try client.setHostCaching(false)

        let restarted = fixture.client("m1")
        let report = try restarted.status(now: Fixed.days(1))
        #expect(report.licenseStatus == .licensed)
        #expect(report.cmid == outcome.cmid)
        #expect(report.pinnedHost == "[::1]:1700")
        #expect(report.domain == "corp.example.com")
        #expect(report.hostCaching == false)
        #expect(report.lastResult == .success)
        #expect(report.hostCount == 25)
        #expect(report.ticket?.hostID == fixture.vendorHost.certificate.claims.sub)

        try restarted.clearHost()
        try restarted.clearDomain()
        try restarted.setHostCaching(true)
        let settings = try restarted.settings()
        #expect(settings == ClientSettings())
    }

    @Test("a corrupt machine.json is C0A70003 with a remedy; a missing one is C0A70009")
    func corrupt() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        #expect(tallyError { try client.status(now: Fixed.epoch) }?.code == .notInstalled)
        try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        try Data("{\"cmid\": 12".utf8).write(to: fixture.directory("m1").file("machine.json"))
        let error = tallyError { try client.status(now: Fixed.epoch) }
        #expect(error?.code == .stateUnreadable)
        #expect(error?.remedy.contains("ipk") == true)
        #expect(tallyError { try client.activate(now: Fixed.epoch) }?.code == .stateUnreadable)

        try Data("not json".utf8).write(to: fixture.directory("m1").file("settings.json"))
        #expect(tallyError { try client.settings() }?.code == .stateUnreadable)
    }

    @Test("a state copied to another machine gets a new CMID and drops its ticket")
    func copiedState() throws {
        let fixture = try ClientFixture()
        let (_, outcome) = try fixture.activated("m1")
        #expect(outcome.isLicensed)
        // The same directory, read on another machine (another fingerprint).
        let copy = fixture.client("m1", identity: ClientFixture.machine("clone"))
        let report = try copy.status(now: Fixed.days(1))
        #expect(report.stateCopied)
        #expect(report.cmid != outcome.cmid)
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.ticketProblem?.contains("copied") == true)
        #expect(try fixture.machineState("m1").licenses["studio-pro"]?.ticket == nil)
        #expect(try fixture.machineState("m1").fingerprint == ClientFixture.machine("clone").fingerprint)

        // The copy is now this machine's own: the next read is not a copy any more.
        let again = try copy.status(now: Fixed.days(1))
        #expect(!again.stateCopied)
        #expect(again.cmid == report.cmid)
    }

    @Test("a clone that differs only in its DMI product UUID is a different machine")
    func productUUID() throws {
        let fixture = try ClientFixture()
        let a = MachineIdentity(machineID: "same-image", productUUID: "uuid-a", name: "a")
        let b = MachineIdentity(machineID: "same-image", productUUID: "uuid-b", name: "b")
        #expect(a.fingerprint != b.fingerprint)
        let client = fixture.client("img", identity: a)
        let cmid = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch).cmid
        #expect(try fixture.client("img", identity: b).status(now: Fixed.epoch).cmid != cmid)
    }

    @Test("a clock set back beyond the tolerance is reported and the latest time seen is used")
    func clockRollback() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        #expect(try client.status(now: Fixed.days(20)).clockRolledBack == false)
        let report = try client.status(now: Fixed.days(10))
        #expect(report.clockRolledBack)
        #expect(report.trustedTime == Fixed.days(20))
        // Within the tolerance (4 h) is not a rollback.
        #expect(try client.status(now: Fixed.days(20).addingTimeInterval(-3600)).clockRolledBack == false)
        // Setting the clock back does not stretch grace: once day 31 was seen, grace is over even if the clock
        // says day 1.
        #expect(try client.status(now: Fixed.days(31)).licenseStatus == .notification)
        let late = try client.status(now: Fixed.days(1))
        #expect(late.clockRolledBack)
        #expect(late.licenseStatus == .notification)
    }

    @Test("rearm makes a new CMID up to the limit, then C004D307")
    func rearm() throws {
        let fixture = try ClientFixture()
        let (client, outcome) = try fixture.activated()
        var cmids: Set<String> = [outcome.cmid]
        for n in 1...fixture.profile.rearmLimit {
            let result = try client.rearm(now: Fixed.days(Double(n)))
            #expect(result.rearmCount == n)
            #expect(result.previousCMID != result.cmid)
            cmids.insert(result.cmid)
        }
        #expect(cmids.count == fixture.profile.rearmLimit + 1)
        let report = try client.status(now: Fixed.days(10))
        #expect(report.licenseStatus == .extendedGrace)
        #expect(report.rearmCount == 5)
        let error = tallyError { try client.rearm(now: Fixed.days(11)) }
        #expect(error?.code == .rearmLimitReached)
        #expect(try client.status(now: Fixed.days(11)).cmid == report.cmid)
    }

    @Test("host and domain settings are validated")
    func settingsValidation() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        #expect(tallyError { try client.setHost("host:99999") }?.code == .usageError)
        #expect(tallyError { try client.setDomain("bad domain") }?.code == .usageError)
        #expect(try client.setHost("kms.example.com").pinnedHost == HostAddress(host: "kms.example.com", port: 1688))
        #expect(try client.setHostCaching(false).hostCaching == false)
    }

    @Test("two clients on one state directory from many threads never corrupt it")
    func concurrentWriters() throws {
        let fixture = try ClientFixture()
        try fixture.client().installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        let client = fixture.client()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            _ = try? client.status(now: Fixed.epoch.addingTimeInterval(Double(i)))
            _ = try? client.setHost("127.0.0.\(i + 1):1688")
        }
        let report = try fixture.client().status(now: Fixed.days(1))
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.pinnedHost?.hasPrefix("127.0.0.") == true)
    }
}
