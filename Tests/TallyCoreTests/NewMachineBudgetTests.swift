import Foundation
import TallyCore
import Testing

@Suite("New-machine budget")
struct NewMachineBudgetTests {
    let certificate = TokenFixture().certificateClaims
    let now = Fixed.days(10)

    func request(_ cmid: String, sku: String = "studio-pro", at time: Date? = nil) -> PolicyRequest {
        PolicyRequest(cmid: cmid, sku: sku, fingerprint: "fpr", clientTime: time ?? now)
    }

    @Test("an IPv6 address is counted by its /64, an IPv4-mapped one as IPv4, IPv4 by itself")
    func blocks() {
        #expect(AddressBlock(address: "2001:db8:1:2::1") == AddressBlock(address: "2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(AddressBlock(address: "2001:db8:1:2::1").description == "2001:db8:1:2::/64")
        #expect(AddressBlock(address: "[2001:DB8:1:2::7]") == AddressBlock(address: "2001:db8:1:2::1"))
        #expect(AddressBlock(address: "2001:db8:1:3::1") != AddressBlock(address: "2001:db8:1:2::1"))
        #expect(AddressBlock(address: "fe80::1%eth0") == AddressBlock(address: "fe80::2"))
        #expect(AddressBlock(address: "::ffff:192.0.2.7").description == "192.0.2.7")
        #expect(AddressBlock(address: "192.0.2.7") != AddressBlock(address: "192.0.2.8"))
        #expect(AddressBlock(address: "not an address").description == "not an address")
        // The host stores a peer as SwiftNIO describes it, with the port: each connection's port is not an address.
        #expect(AddressBlock(address: "[IPv4]127.0.0.1/127.0.0.1:39844") == AddressBlock(address: "[IPv4]127.0.0.1/127.0.0.1:40066"))
        #expect(AddressBlock(address: "[IPv4]127.0.0.1/127.0.0.1:39844").description == "127.0.0.1")
        #expect(AddressBlock(address: "[IPv6]::1/::1:40000").description == "::/64")
        #expect(AddressBlock(address: "[IPv6]2001:db8:1:2::9/2001:db8:1:2::9:443") == AddressBlock(address: "2001:db8:1:2::1"))
    }

    @Test("the rule: admit below the budget; over it refuse, reporting only the first refusal; 0 is no limit")
    func rule() {
        let budget = NewMachineBudget(perAddress: 3)
        #expect(budget.verdict(admittedToday: 2, refusedToday: false) == .admit)
        #expect(budget.verdict(admittedToday: 3, refusedToday: false) == .refuse(report: true))
        #expect(budget.verdict(admittedToday: 3, refusedToday: true) == .refuse(report: false))
        #expect(NewMachineBudget.unlimited.verdict(admittedToday: 1_000_000, refusedToday: false) == .admit)
        #expect(NewMachineBudget().perAddress == 1_000)
    }

    @Test("one address inventing CMIDs: counting stops at the budget, known machines and other addresses go on, the next day starts afresh")
    func policy() {
        let policy = ActivationPolicy(newMachineBudget: NewMachineBudget(perAddress: 3))
        let flood = AddressBlock(address: "2001:db8:aa:1::1")
        var counts = ClassCounts()
        var codes: [ResultCode] = []
        for index in 0..<5 {
            // A new address inside the same /64 for every CMID: rotation does not help.
            let block = AddressBlock(address: "2001:db8:aa:1::\(index + 1)")
            #expect(block == flood)
            let decision = policy.decide(request("fake-\(index)"), certificate: certificate, counts: &counts, now: now, from: block)
            codes.append(decision.code)
            #expect(decision.counted == (index < 3))
            if index >= 3 { #expect(!decision.grantsTicket) }
        }
        #expect(codes == [.countTooLow, .countTooLow, .countTooLow, .newMachineBudgetExceeded, .newMachineBudgetExceeded])
        #expect(counts.count(class: "client", at: now) == 3)
        #expect(counts.newMachines.admitted(flood, day: CountWindow.day(of: now)) == 3)
        #expect(counts.newMachines.wasRefused(flood, day: CountWindow.day(of: now)))
        // A machine already counted renews from the same address.
        #expect(policy.decide(request("fake-0"), certificate: certificate, counts: &counts, now: now, from: flood).counted)
        // Another address still brings new machines.
        let other = policy.decide(request("real"), certificate: certificate, counts: &counts, now: now, from: AddressBlock(address: "192.0.2.9"))
        #expect(other.counted)
        #expect(counts.count(class: "client", at: now) == 4)
        // Without an address (a caller that applies no budget) nothing is refused.
        #expect(policy.decide(request("no-address"), certificate: certificate, counts: &counts, now: now).counted)
        // The next day the address has a budget again.
        let tomorrow = now + Fixed.day
        let next = policy.decide(request("fake-9", at: tomorrow), certificate: certificate, counts: &counts, now: tomorrow, from: flood)
        #expect(next.counted)
        #expect(!counts.newMachines.wasRefused(flood, day: CountWindow.day(of: tomorrow)))
    }

    @Test("a batch's pending ledger: the rule sees what is merged and what is pending; merging adds")
    func ledger() {
        let budget = NewMachineBudget(perAddress: 2)
        let block = AddressBlock(address: "198.51.100.1")
        let day = 100
        var merged = NewMachineLedger(day: day, admitted: [block: 1])
        var pending = NewMachineLedger(day: day)
        #expect(merged.decide(block, day: day, budget: budget, pending: &pending) == .admit)
        #expect(merged.decide(block, day: day, budget: budget, pending: &pending) == .refuse(report: true))
        #expect(merged.decide(block, day: day, budget: budget, pending: &pending) == .refuse(report: false))
        // Not merged (the batch failed): the merged ledger is unchanged.
        #expect(merged.admitted(block, day: day) == 1)
        merged.add(pending)
        #expect(merged.admitted(block, day: day) == 2)
        #expect(merged.wasRefused(block, day: day))
        // A later day's changes replace the ledger.
        var later = NewMachineLedger(day: day + 1)
        later.record(.admit, for: block, day: day + 1)
        merged.add(later)
        #expect(merged.day == day + 1)
        #expect(merged.admitted(block, day: day + 1) == 1)
        #expect(!merged.wasRefused(block, day: day + 1))
    }

    @Test("0xC0A7000E, 0xC0A70031 and event 12306 are explained by tally explain and listed in the README")
    func explained() throws {
        let info = try #require(ResultCode.catalog.first { $0.code == .newMachineBudgetExceeded })
        #expect(info.code.hex == "0xC0A7000E")
        #expect(info.remedy.contains("new-machines-per-address"))
        let retention = try #require(ResultCode.catalog.first { $0.code == .reportBeyondRetention })
        #expect(retention.code.hex == "0xC0A70031")
        #expect(retention.remedy.contains("report-retention-days"))
        #expect(EventID(rawValue: 12306) == .newMachineBudgetReached)
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        for text in ["0xC0A7000E", "0xC0A70031", "12306", "new-machines-per-address", "max-connections-per-address"] {
            #expect(readme.contains(text), "README does not name \(text)")
        }
    }
}
