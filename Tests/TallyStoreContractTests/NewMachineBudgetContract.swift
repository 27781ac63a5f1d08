import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The per-address budget of new machines as every ``HostStore`` must keep it: written against the protocol
/// only, so a shared store (PostgreSQL) runs the same checks with its own `open`.
struct NewMachineBudgetContract {
    /// Opens the store under test (again, after `close`, on the same data).
    let open: () async throws -> any HostStore
    let certificate: HostCertificateClaims
    let now: Date

    func input(_ cmid: String, from address: String, at time: Date? = nil) -> ActivationInput {
        ActivationInput(request: PolicyRequest(cmid: cmid, sku: "studio-pro", fingerprint: "fpr-\(cmid)", clientTime: time ?? now),
                        machine: "m", licenseStatus: "Initial grace", address: address)
    }

    func context(budget: Int) -> DecisionContext {
        DecisionContext(certificate: certificate, intervals: ClientIntervals(), policy: ActivationPolicy(newMachineBudget: NewMachineBudget(perAddress: budget)))
    }

    func budgetEvents(_ store: any HostStore) async throws -> [StoredEvent] {
        try await store.events(EventQuery(id: .newMachineBudgetReached, limit: 100))
    }

    /// One address (rotating inside its IPv6 /64) invents CMIDs past a budget of 5, in batches.
    func run() async throws {
        var store = try await open()
        let day = CountWindow.day(of: now)
        let flood = (0..<12).map { input("fake-\($0)", from: "2001:db8:77:1::\($0 + 1)") }
        var decisions: [StoredDecision] = []
        for batch in stride(from: 0, to: flood.count, by: 4).map({ Array(flood[$0..<min($0 + 4, flood.count)]) }) {
            decisions += try await store.decide(batch, context: context(budget: 5), now: now)
        }
        // Counting stops at the budget; the rest are refused and not counted.
        #expect(decisions.map(\.decision.counted) == Array(repeating: true, count: 5) + Array(repeating: false, count: 7))
        #expect(decisions.dropFirst(5).allSatisfy { $0.decision.code == .newMachineBudgetExceeded && $0.decision.ticket == nil })
        #expect(try await store.counts(now: now)["client"] == 5)
        // Event 12306 once, naming the /64.
        var events = try await budgetEvents(store)
        #expect(events.count == 1)
        #expect(events.first?.event.fields["address"] == "2001:db8:77:1::/64")
        #expect(events.first?.event.result == .newMachineBudgetExceeded)
        // A machine already counted renews from the same block; another address brings a new machine.
        let renewal = try await store.decide([input("fake-0", from: "2001:db8:77:1::99"), input("real", from: "192.0.2.20")], context: context(budget: 5), now: now)
        #expect(renewal.map(\.decision.counted) == [true, true])
        #expect(try await store.counts(now: now)["client"] == 6)
        // The clients and sightings hold only what was counted.
        #expect(try await store.clientCount() == 6)
        // The report's view: new machines that day, most from one block.
        let daily = try await store.newMachines(fromDay: day, toDay: day, busiest: 1)
        #expect(daily.count == 1)
        #expect(daily.first?.machines == 6)
        #expect(daily.first?.addresses == 2)
        #expect(daily.first?.busiest == [BlockMachines(block: "2001:db8:77:1::/64", machines: 5)])
        #expect(try await store.usage(fromDay: day, toDay: day).reduce(0) { $0 + $1.machines } == 6)

        // After a restart the budget is still spent and the event is not repeated.
        try await store.close()
        store = try await open()
        let again = try await store.decide([input("fake-after-restart", from: "2001:db8:77:1::5")], context: context(budget: 5), now: now)
        #expect(again.first?.decision.code == .newMachineBudgetExceeded)
        events = try await budgetEvents(store)
        #expect(events.count == 1)
        // A larger budget (SIGHUP) admits more at once.
        let raised = try await store.decide([input("fake-raised", from: "2001:db8:77:1::5")], context: context(budget: 6), now: now)
        #expect(raised.first?.decision.counted == true)
        // The next day the block has a budget again, and is reported again once it spends it.
        let tomorrow = now.addingTimeInterval(86_400)
        let next = try await store.decide((0..<3).map { input("next-\($0)", from: "2001:db8:77:1::1", at: tomorrow) },
                                          context: context(budget: 2), now: tomorrow)
        #expect(next.map(\.decision.counted) == [true, true, false])
        #expect(try await budgetEvents(store).count == 2)
        try await store.close()
    }
}
