import Foundation

/// The rule that bounds what one address can make a host store: at most `perAddress` machines new to the host
/// (a CMID never counted in the class it asks for) per address block (``AddressBlock``) per day, across the whole
/// site. A new machine over the budget is refused with ``ResultCode/newMachineBudgetExceeded``, signed, and is
/// not counted; the first refusal of a block on a day is reported (event 12306).
///
/// The budget bounds the store's disk and memory, not threshold gaming: 25 invented CMIDs pass a threshold of 25
/// well inside any budget. Machines already counted renew whatever the budget.
///
/// This type is the rule and nothing else; a store keeps the state (a ``NewMachineLedger`` or its own tables)
/// and asks ``verdict(admittedToday:refusedToday:)`` for each new machine.
public struct NewMachineBudget: Sendable, Equatable {
    public static let defaultPerAddress = 1_000

    /// New machines per address block per day; 0 for no limit.
    public var perAddress: Int

    public init(perAddress: Int = NewMachineBudget.defaultPerAddress) {
        self.perAddress = perAddress
    }

    /// No limit.
    public static let unlimited = NewMachineBudget(perAddress: 0)

    public enum Verdict: Sendable, Equatable {
        /// Count the machine (and record one more new machine for its block).
        case admit
        /// Refuse it, uncounted; `report` the first time the block is refused that day.
        case refuse(report: Bool)
    }

    /// The verdict on one more new machine from a block that has had `admittedToday` new machines admitted today
    /// and was `refusedToday` already (or not).
    public func verdict(admittedToday: Int, refusedToday: Bool) -> Verdict {
        guard perAddress > 0, admittedToday >= perAddress else { return .admit }
        return .refuse(report: !refusedToday)
    }
}

/// One day's state of the budget, in memory: new machines admitted per block, and the blocks already refused.
/// A store deciding a batch keeps its changes in a second ledger (``adding(_:)`` merges it once committed).
public struct NewMachineLedger: Sendable, Equatable {
    public private(set) var day: Int
    public private(set) var admitted: [AddressBlock: Int]
    public private(set) var refused: Set<AddressBlock>

    public init(day: Int, admitted: [AddressBlock: Int] = [:], refused: Set<AddressBlock> = []) {
        self.day = day
        self.admitted = admitted
        self.refused = refused
    }

    public func admitted(_ block: AddressBlock, day: Int) -> Int { day == self.day ? admitted[block] ?? 0 : 0 }
    public func wasRefused(_ block: AddressBlock, day: Int) -> Bool { day == self.day && refused.contains(block) }

    /// Applies a verdict for `block` on `day`; a later day starts the ledger afresh.
    public mutating func record(_ verdict: NewMachineBudget.Verdict, for block: AddressBlock, day: Int) {
        if day > self.day { self = NewMachineLedger(day: day) }
        guard day == self.day else { return }
        switch verdict {
        case .admit: admitted[block, default: 0] += 1
        case .refuse: refused.insert(block)
        }
    }

    /// Decides one new machine against this ledger (and `pending`, changes not merged yet) and records the
    /// verdict in `pending`.
    public func decide(_ block: AddressBlock, day: Int, budget: NewMachineBudget, pending: inout NewMachineLedger) -> NewMachineBudget.Verdict {
        let verdict = budget.verdict(admittedToday: admitted(block, day: day) + pending.admitted(block, day: day),
                                     refusedToday: wasRefused(block, day: day) || pending.wasRefused(block, day: day))
        pending.record(verdict, for: block, day: day)
        return verdict
    }

    /// The ledger with `other`'s changes added (the same day; a later day replaces this one).
    public mutating func add(_ other: NewMachineLedger) {
        if other.day > day { self = NewMachineLedger(day: other.day) }
        guard other.day == day else { return }
        for (block, machines) in other.admitted { admitted[block, default: 0] += machines }
        refused.formUnion(other.refused)
    }
}
