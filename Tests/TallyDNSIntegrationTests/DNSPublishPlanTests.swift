import TallyCore
import TallyDNS
import TallyHost
import Testing

/// The publishing plan without a network: what the host wants in DNS and the update that gets it there.
@Suite struct DNSPublishPlanTests {
    @Test func theTargetDefaultsToTheHostNameInEachDomain() throws {
        var settings = HostSettings()
        settings.dnsPublishList = [DNSPublishEntry(domain: "example.com", priority: 1, weight: 2), DNSPublishEntry(domain: "corp.example")]
        let records = try DNSPublishPlan.desired(settings: settings, port: 1688, defaultDomains: [], hostName: "kms01")
        #expect(records.map(\.owner) == ["_tally._tcp.example.com.", "_tally._tcp.corp.example."])
        #expect(records.map(\.target) == ["kms01.example.com.", "kms01.corp.example."])
        #expect(records.map(\.srvText) == ["1 2 1688 kms01.example.com.", "0 10 1688 kms01.corp.example."])
        // A qualified host name is used as it is; the service label comes from the settings.
        settings.dnsService = "vendorx"
        let qualified = try DNSPublishPlan.desired(settings: settings, port: 1688, defaultDomains: [], hostName: "kms01.dc.example.net")
        #expect(qualified.map(\.target) == ["kms01.dc.example.net.", "kms01.dc.example.net."])
        #expect(qualified[0].owner == "_vendorx._tcp.example.com.")
    }

    @Test func anEmptyListUsesTheResolversDomain() throws {
        let records = try DNSPublishPlan.desired(settings: HostSettings(), port: 1688, defaultDomains: [try DNSName("site.example")], hostName: "h")
        #expect(records.map(\.domain) == ["site.example."])
        #expect(throws: TallyError.self) { try DNSPublishPlan.desired(settings: HostSettings(), port: 1688, defaultDomains: [], hostName: "h") }
    }

    @Test func aChangedPortDeletesTheOldRecordOnlyAndAddsTheNew() throws {
        let old = DNSPublishedRecord(domain: "example.com.", owner: "_tally._tcp.example.com.", priority: 0, weight: 0, port: 1688,
                                     target: "kms.example.com.", ttl: 300)
        var new = old
        new.port = 1700
        let changes = try DNSPublishPlan.changes(to: new, from: old)
        #expect(changes.count == 2)
        guard case .delete(let deleted) = changes[0], case .srv(let data) = deleted.data, case .add(let added) = changes[1],
              case .srv(let addedData) = added.data else {
            Issue.record("not delete then add: \(changes)")
            return
        }
        #expect(data.port == 1688 && addedData.port == 1700)
        // Unchanged: only the (idempotent) add.
        #expect(try DNSPublishPlan.changes(to: old, from: old).count == 1)
        // Removal deletes exactly the remembered record and addresses.
        var withAddress = old
        withAddress.addresses = ["192.0.2.1"]
        #expect(try DNSPublishPlan.removal(of: withAddress).count == 2)
    }

    @Test func publishListSettingParses() throws {
        #expect(try DNSPublishEntry.parseList("example.com:0:10, branch.example.com:10") ==
                [DNSPublishEntry(domain: "example.com", priority: 0, weight: 10), DNSPublishEntry(domain: "branch.example.com", priority: 10)])
        #expect(try DNSPublishEntry.parseList("none").isEmpty)
        // Left out, the weight is the docs' 10 (a weight-0 record gets almost no clients next to weighted ones).
        #expect(try DNSPublishEntry.parseList("example.com") == [DNSPublishEntry(domain: "example.com", priority: 0, weight: 10)])
        #expect(try DNSPublishEntry.parseList("example.com:5:0") == [DNSPublishEntry(domain: "example.com", priority: 5, weight: 0)])
        #expect(HostSettings.setting(named: "dns-publish-list")?.help.contains("RFC 2782") == true)
        #expect(throws: TallyError.self) { try DNSPublishEntry.parseList("example.com:70000") }
        #expect(throws: TallyError.self) { try DNSPublishEntry.parseList("bad..name") }
        var settings = HostSettings()
        try settings.set("dns-primary", to: "[::1]:5353")
        #expect(settings.dnsPrimary == "[::1]:5353")
        #expect(throws: TallyError.self) { try settings.set("dns-primary", to: "ns1.example.com") }
        try settings.set("dns-addresses", to: "192.0.2.1,2001:db8::1")
        #expect(settings.dnsAddresses.count == 2)
        #expect(throws: TallyError.self) { try settings.set("dns-ttl", to: "5") }
    }
}
