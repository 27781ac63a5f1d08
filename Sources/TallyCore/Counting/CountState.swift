import Foundation

/// What the activation policy needs to know about the machines counted so far, whoever keeps them.
///
/// The policy decides one request at a time against a `CountState`: the in-memory ``ClassCounts`` in tests and
/// small tools, the store's own view (its histogram of last days, the decisions not yet in its tables, and a
/// point look-up for the rest) on a serving host. A state never has to list the machines it knows: the count of
/// a class at a day is a sum over the days of the window of how many machines have that day as their last.
public protocol CountState {
    /// What a look-up may fail with (`Never` for state held in memory).
    associatedtype LookupFailure: Error

    /// The last day `cmid` was counted in `productClass`, if it ever was.
    mutating func lastDay(of cmid: String, class productClass: String) throws(LookupFailure) -> Int?

    /// How many machines of `productClass` have `day` as the last day they were counted.
    func machines(class productClass: String, lastDay day: Int) -> Int

    /// Records that `cmid` was counted in `productClass` on `day`, its last day before being `previous`
    /// (`day` is later than `previous`).
    mutating func record(_ cmid: String, class productClass: String, day: Int, previous: Int?)

    /// The verdict on a machine new to its class from `block` on `day` under `budget`, recorded in the state
    /// (``NewMachineLedger/decide(_:day:budget:pending:)`` is the rule). A store keeps it with its counts, so a
    /// batch that is not committed leaves no trace here either.
    mutating func newMachine(from block: AddressBlock, day: Int, budget: NewMachineBudget) -> NewMachineBudget.Verdict
}

extension CountState {
    /// Distinct machines of `productClass` whose last day lies in the window that ends on `today`.
    public func count(class productClass: String, today: Int, windowDays: Int = Intervals.countWindowDays) -> Int {
        var total = 0
        for day in (today - windowDays + 1)...today { total += machines(class: productClass, lastDay: day) }
        return total
    }
}

extension ClassCounts: CountState {
    public typealias LookupFailure = Never

    public mutating func lastDay(of cmid: String, class productClass: String) -> Int? {
        windows[productClass]?.lastDay(of: cmid)
    }

    public func machines(class productClass: String, lastDay day: Int) -> Int {
        windows[productClass]?.machines(lastDay: day) ?? 0
    }

    public mutating func record(_ cmid: String, class productClass: String, day: Int, previous: Int?) {
        record(cmid, class: productClass, day: day)
    }

    public mutating func newMachine(from block: AddressBlock, day: Int, budget: NewMachineBudget) -> NewMachineBudget.Verdict {
        var pending = NewMachineLedger(day: day)
        let verdict = newMachines.decide(block, day: day, budget: budget, pending: &pending)
        newMachines.add(pending)
        return verdict
    }
}
