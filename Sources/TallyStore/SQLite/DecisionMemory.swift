import Foundation
import TallyCore

/// A machine in one class: what the count window counts.
struct MachineKey: Hashable, Sendable {
    var cmid: String
    var productClass: String
}

/// What the SQLite store keeps in memory to decide: the histogram of machines per class and last day (the count
/// is a sum over it), and the last days that decisions set and the index does not hold yet.
///
/// Only the log's writer changes it (one batch at a time); readers of the count take the same lock.
///
/// Nothing a batch does to it costs time in proportion to the machines it holds: a dictionary that grows
/// rehashes every entry, and at 25,000 pending machines that held one batch, and every request behind it, for
/// 5 ms; so `pending` is reserved up front (storage no machine has touched costs no memory), and pruning walks
/// the decisions in the order they were written, a bounded number per batch, instead of copying what is left.
struct DecisionMemory: Sendable {
    /// Class → last day → machines whose last day it is.
    var histogram: [String: [Int: Int]] = [:]
    /// Last days decided after the newest log row the index holds, with the log row that set them.
    private(set) var pending: [MachineKey: (day: Int, seq: Int64)] = [:]
    /// Every decision `pending` took, in the order of its log rows, from `orderStart` on; one that a later
    /// decision of the same machine replaced is passed over when pruned.
    private var order: [(key: MachineKey, seq: Int64)] = []
    private var orderStart = 0
    /// Log rows written since the indexer last caught up (to wake it).
    var unindexedRows = 0
    /// Today's new machines per address block and the blocks refused (day 0: not loaded yet).
    var newMachines = NewMachineLedger(day: 0)

    /// Pending machines reserved for: the indexer is woken at 65,536 rows waiting, and rows go on arriving
    /// while it runs.
    static let reservedPending = 98_304
    /// Pending decisions forgotten per batch at most, so that the batch after the indexer caught up with
    /// 65,536 rows does not forget them all at once (the rest are still right: the index holds the same).
    static let pruneLimit = 2_048

    init(reserving capacity: Int = DecisionMemory.reservedPending) {
        pending.reserveCapacity(capacity)
        order.reserveCapacity(capacity)
    }

    /// Takes the last day a committed decision (log row `seq`) set for `key`.
    mutating func remember(_ key: MachineKey, day: Int, seq: Int64) {
        pending[key] = (day, seq)
        order.append((key, seq))
    }

    /// Forgets pending last days the index now holds (of log rows up to `indexedUpTo`), oldest first, at most `limit`.
    mutating func prune(indexedUpTo: Int64, limit: Int = DecisionMemory.pruneLimit) {
        var walked = 0
        while orderStart < order.count, walked < limit, order[orderStart].seq <= indexedUpTo {
            let (key, seq) = order[orderStart]
            if pending[key]?.seq == seq { pending.removeValue(forKey: key) }
            orderStart += 1
            walked += 1
        }
        // The walked front goes once it is half the array, so each entry is moved at most once more.
        if orderStart > 0, orderStart * 2 >= order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// Distinct machines of each class in the window that ends on `today`.
    func counts(today: Int) -> [String: Int] {
        histogram.mapValues { days in
            ((today - Intervals.countWindowDays + 1)...today).reduce(0) { $0 + (days[$1] ?? 0) }
        }
    }
}

/// The count as one batch sees it while it is decided: the memory as it was, the index's answers for machines
/// the memory does not hold, and the batch's own changes (kept apart, so a batch that fails to commit leaves no
/// trace).
struct BatchCounts: CountState {
    typealias LookupFailure = Never

    let histogram: [String: [Int: Int]]
    let pending: [MachineKey: (day: Int, seq: Int64)]
    /// The index's last day for machines not pending (`nil`: never counted).
    let looked: [MachineKey: Int?]
    /// The batch's changes: last day and the position in the batch of the request that set it.
    var local: [MachineKey: (day: Int, position: Int)] = [:]
    var deltas: [String: [Int: Int]] = [:]
    /// The position in the batch of the request being decided.
    var position = 0
    /// The budget's state before the batch, and the batch's changes to it.
    let newMachinesBefore: NewMachineLedger
    var newMachines: NewMachineLedger
    /// Blocks refused for the first time today, with the position of the request that was refused.
    var budgetReports: [(block: AddressBlock, day: Int, position: Int)] = []

    init(histogram: [String: [Int: Int]], pending: [MachineKey: (day: Int, seq: Int64)], looked: [MachineKey: Int?],
         newMachines: NewMachineLedger, today: Int) {
        self.histogram = histogram
        self.pending = pending
        self.looked = looked
        newMachinesBefore = newMachines
        self.newMachines = NewMachineLedger(day: today)
    }

    mutating func newMachine(from block: AddressBlock, day: Int, budget: NewMachineBudget) -> NewMachineBudget.Verdict {
        let verdict = newMachinesBefore.decide(block, day: day, budget: budget, pending: &newMachines)
        if case .refuse(report: true) = verdict { budgetReports.append((block, day, position)) }
        return verdict
    }

    /// New machines admitted today from `block`, before and in this batch.
    func admitted(_ block: AddressBlock, day: Int) -> Int {
        newMachinesBefore.admitted(block, day: day) + newMachines.admitted(block, day: day)
    }

    mutating func lastDay(of cmid: String, class productClass: String) -> Int? {
        let key = MachineKey(cmid: cmid, productClass: productClass)
        if let local = local[key] { return local.day }
        if let pending = pending[key] { return pending.day }
        return looked[key] ?? nil
    }

    func machines(class productClass: String, lastDay day: Int) -> Int {
        (histogram[productClass]?[day] ?? 0) + (deltas[productClass]?[day] ?? 0)
    }

    mutating func record(_ cmid: String, class productClass: String, day: Int, previous: Int?) {
        local[MachineKey(cmid: cmid, productClass: productClass)] = (day, position)
        if let previous { deltas[productClass, default: [:]][previous, default: 0] -= 1 }
        deltas[productClass, default: [:]][day, default: 0] += 1
    }
}

extension DecisionMemory {
    /// Takes a committed batch's changes; `seqs` are the log rows of the batch's requests, by position.
    mutating func merge(local: [MachineKey: (day: Int, position: Int)], deltas: [String: [Int: Int]], newMachines: NewMachineLedger, seqs: [Int64]) {
        self.newMachines.add(newMachines)
        for (key, change) in local { remember(key, day: change.day, seq: seqs[change.position]) }
        for (productClass, days) in deltas {
            for (day, delta) in days where delta != 0 {
                let machines = (histogram[productClass]?[day] ?? 0) + delta
                histogram[productClass, default: [:]][day] = machines == 0 ? nil : machines
            }
        }
        unindexedRows += seqs.count
    }
}
