import Foundation
import Testing
@testable import TallyClient
import TallyCore
import TallyFiles
import TallyTestSupport

@Suite("Client keys: ipk and upk")
struct KeyTests {
    @Test("a setup key installs its SKU in initial grace and makes the CMID once")
    func install() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        let first = try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        #expect(first.sku == "studio-pro")
        #expect(first.newMachine)
        #expect(!first.alreadyInstalled)
        #expect(CMID.validate(first.cmid) == first.cmid)

        let second = try client.installKey(fixture.setupKey("studio-server"), now: Fixed.epoch)
        #expect(second.cmid == first.cmid)
        #expect(!second.newMachine)
        let again = try client.installKey(fixture.setupKey("studio-pro").lowercased(), now: Fixed.epoch)
        #expect(again.alreadyInstalled)
        #expect(try client.installedSKUs() == ["studio-pro", "studio-server"])

        let report = try client.status(sku: "studio-pro", now: Fixed.epoch.addingTimeInterval(3600))
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.expires == Fixed.days(30))
        #expect(report.cmid == first.cmid)
    }

    @Test("a host key on a client: C004E016 with the hint")
    func hostKeyOnClient() throws {
        let fixture = try ClientFixture()
        let error = tallyError { try fixture.client().installKey(fixture.vendorHost.hostKey.description, now: Fixed.epoch) }
        #expect(error?.code == .keyDoesNotMatch)
        #expect(error?.hint?.contains("I installed a host key on a client") == true)
        #expect(!fixture.directory("m1").exists("machine.json"))
    }

    @Test("a typo is C004F050; another vendor's setup key is C004E016")
    func badKeys() throws {
        let fixture = try ClientFixture()
        var key = Array(fixture.setupKey("studio-pro"))
        key[3] = key[3] == "A" ? "B" : "A"
        #expect(tallyError { try fixture.client().installKey(String(key), now: Fixed.epoch) }?.code == .invalidKey)
        #expect(tallyError { try fixture.client().installKey("hello", now: Fixed.epoch) }?.code == .invalidKey)

        let foreign = ProductKey.generate(.clientSetup).description
        let error = tallyError { try fixture.client().installKey(foreign, now: Fixed.epoch) }
        #expect(error?.code == .keyDoesNotMatch)
        #expect(error?.message.contains("not a key of acme's products") == true)
    }

    @Test("nothing of the profile is stored: the state directory holds no profile.json after an install")
    func profileNotStored() throws {
        let fixture = try ClientFixture()
        try fixture.client().installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        #expect(fixture.directory("m1").exists("machine.json"))
        #expect(!fixture.directory("m1").exists("profile.json"))
    }

    @Test("upk removes the SKU and its ticket; the CMID stays")
    func uninstall() throws {
        let fixture = try ClientFixture()
        let (client, outcome) = try fixture.activated()
        try client.installKey(fixture.setupKey("studio-server"), now: Fixed.epoch)
        #expect(tallyError { try client.uninstallKey(now: Fixed.epoch) }?.code == .usageError)
        #expect(try client.uninstallKey(sku: "studio-pro", now: Fixed.epoch) == "studio-pro")
        #expect(try client.installedSKUs() == ["studio-server"])
        #expect(try fixture.machineState("m1").cmid == outcome.cmid)
        #expect(tallyError { try client.status(sku: "studio-pro", now: Fixed.epoch) }?.code == .notInstalled)
        #expect(try client.uninstallKey(now: Fixed.epoch) == "studio-server")
        #expect(tallyError { try client.status(now: Fixed.epoch) }?.code == .notInstalled)
    }
}
