import Foundation

/// Event 12306: an address block went over its budget of new machines for the day (once per block per day).
public enum NewMachineBudgetEvent {
    /// The event for the first refusal of `block` today: the machines it was admitted, the budget, the refused CMID.
    public static func event(block: AddressBlock, admitted: Int, budget: NewMachineBudget, cmid: String, time: Date) -> TallyEvent {
        TallyEvent(id: .newMachineBudgetReached, time: time, result: .newMachineBudgetExceeded, fields: [
            "address": block.description, "admitted": String(admitted), "budget": String(budget.perAddress),
            "day": String(CountWindow.day(of: time)), "cmid": cmid,
        ])
    }

    /// The block an event names.
    public static func block(of event: TallyEvent) -> AddressBlock? {
        guard event.id == .newMachineBudgetReached, let address = event.fields["address"] else { return nil }
        return AddressBlock(address: address)
    }
}
