import Foundation
import Testing
import TallyCore
import TallyStore

/// A store decides as ``ActivationPolicy/decide(_:certificate:intervals:counts:now:from:)`` does against counts in
/// memory: PostgreSQL decides in its own engine (`tally_decide`), so this holds it, and SQLite, to the
/// policy's table request by request, on the cases the straight count does not reach.
extension StoreContract {
    func decidesAsThePolicy() async throws {
        let store = try await open()
        let policy = ActivationPolicy(newMachineBudget: NewMachineBudget(perAddress: 3))
        let intervals = ClientIntervals(activation: 60, renewal: 600)
        let context = DecisionContext(certificate: certificate, intervals: intervals, policy: policy)
        var reference = ClassCounts()
        let day: TimeInterval = 86_400
        func other(_ cmid: String) -> ActivationInput {
            ActivationInput(request: PolicyRequest(cmid: cmid, sku: "not-in-the-certificate", fingerprint: "fpr-\(cmid)", clientTime: now),
                            machine: "machine-\(cmid)", licenseStatus: "Initial grace", address: "192.0.2.10")
        }
        let steps: [(time: Date, batch: [ActivationInput])] = [
            // Duplicates, a SKU the certificate does not cover, a client clock 5 h off then right (a new machine
            // still), four new machines from one address (its budget is three), the refused machine again.
            (now, [input("a"), input("b"), input("a"), other("c"), input("d", at: now.addingTimeInterval(5 * 3600)), input("d"),
                   input("e", address: "198.51.100.7"), input("f", address: "198.51.100.7"), input("g", address: "198.51.100.7"),
                   input("h", address: "198.51.100.7"), input("h", address: "198.51.100.7")]),
            // Two days on: machines seen before move to the later day; a new day's budget for the address.
            (now.addingTimeInterval(2 * day), [input("a", at: now.addingTimeInterval(2 * day)), input("h", address: "198.51.100.7",
                                                                                                     at: now.addingTimeInterval(2 * day)),
                                               input("i", at: now.addingTimeInterval(2 * day))]),
            // The host's clock set back a day: "a" was last seen after it, and is counted as the machine asking now.
            (now.addingTimeInterval(day), [input("a", at: now.addingTimeInterval(day)), input("j", at: now.addingTimeInterval(day))]),
            // Past the window of the first day: what was seen only then has left the count.
            (now.addingTimeInterval(31 * day), [input("b", at: now.addingTimeInterval(31 * day)), input("a", at: now.addingTimeInterval(31 * day))]),
            // Past the threshold, each from an address of its own: grants, their tickets' times by the intervals.
            (now.addingTimeInterval(31 * day), (1...26).map { input("n-\($0)", address: "203.0.113.\($0)", at: now.addingTimeInterval(31 * day)) }),
        ]
        for step in steps {
            let stored = try await store.decide(step.batch, context: context, now: step.time)
            #expect(stored.count == step.batch.count)
            for (input, decided) in zip(step.batch, stored) {
                let expected = policy.decide(input.request, certificate: certificate, intervals: intervals, counts: &reference, now: step.time,
                                             from: AddressBlock(address: input.address))
                #expect(decided.decision == expected, "\(input.request.cmid) at day +\(Int(step.time.timeIntervalSince(now) / day))")
                #expect(decided.time == step.time)
            }
        }
        // The cases above were reached: a refusal of each kind and a grant.
        let codes = Set(try await store.totals().keys)
        #expect(codes.isSuperset(of: [.skuNotCovered, .clockSkew, .newMachineBudgetExceeded, .countTooLow, .success]))
        #expect(try await store.counts(now: now.addingTimeInterval(31 * day))["client"] == reference.count(class: "client", today: CountWindow.day(of: now) + 31))
        // A host without a valid certificate: every request refused, stored, not counted.
        let before = try await store.counts(now: now.addingTimeInterval(31 * day))
        let refused = try await store.decide([input("k", at: now.addingTimeInterval(31 * day))],
                                             context: DecisionContext(certificate: nil, intervals: intervals, policy: policy),
                                             now: now.addingTimeInterval(31 * day))
        #expect(refused.map(\.decision) == [ActivationDecision(code: .hostNotActivated, productClass: nil, currentCount: 0, requiredCount: 0,
                                                               counted: false, intervals: intervals.clamped)])
        #expect(try await store.counts(now: now.addingTimeInterval(31 * day)) == before)
        try await store.close()
    }
}
