import Foundation

/// The distinct machines of one product class seen in the last 30 days, kept so that counting is cheap.
///
/// Time has day granularity (UTC), like the store's sightings: a machine seen on day `d` counts until day
/// `d + 29`. Each CMID's last day is kept, and how many CMIDs have each day as their last; the count at `today`
/// is the sum over 30 days, whatever the number of machines.
public struct CountWindow: Sendable, Equatable {
    public let days: Int
    private var lastDay: [String: Int] = [:]
    private var machinesByLastDay: [Int: Int] = [:]

    public init(days: Int = Intervals.countWindowDays) {
        self.days = days
    }

    /// The UTC day number of a time (days since 1970-01-01).
    public static func day(of date: Date) -> Int {
        Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// Notes that `cmid` asked on the day of `date`. An older sighting than the one kept changes nothing.
    public mutating func record(_ cmid: String, at date: Date) {
        record(cmid, day: CountWindow.day(of: date))
    }

    public mutating func record(_ cmid: String, day: Int) {
        if let previous = lastDay[cmid] {
            guard day > previous else { return }
            machinesByLastDay[previous, default: 0] -= 1
            if machinesByLastDay[previous] == 0 { machinesByLastDay[previous] = nil }
        }
        lastDay[cmid] = day
        machinesByLastDay[day, default: 0] += 1
    }

    /// Distinct machines seen in the window that ends on the day of `date`.
    public func count(at date: Date) -> Int {
        let today = CountWindow.day(of: date)
        return ((today - days + 1)...today).reduce(0) { $0 + (machinesByLastDay[$1] ?? 0) }
    }

    /// The count with `cmid` in it, as if it asked at `date`, without recording it.
    ///
    /// A machine whose last day is after `date` (the host's clock ran ahead and was set back) is not in
    /// `count(at:)`, but it is asking now, so it is added.
    public func count(including cmid: String, at date: Date) -> Int {
        let today = CountWindow.day(of: date)
        let counted = count(at: date)
        if let last = lastDay[cmid], last > today - days, last <= today { return counted }
        return counted + 1
    }

    /// Whether `cmid` is in the window at `date`.
    public func contains(_ cmid: String, at date: Date) -> Bool {
        guard let last = lastDay[cmid] else { return false }
        return last > CountWindow.day(of: date) - days
    }

    /// The last day `cmid` was recorded, if ever.
    public func lastDay(of cmid: String) -> Int? { lastDay[cmid] }

    /// How many machines have `day` as their last.
    public func machines(lastDay day: Int) -> Int { machinesByLastDay[day] ?? 0 }

    /// Undoes a `record(cmid, day:)` that moved `cmid` from `previous` to `day`. Undo in reverse order of
    /// recording: the host rolls back the sightings of a batch that failed to commit.
    public mutating func undo(_ cmid: String, recordedDay day: Int, previous: Int?) {
        guard lastDay[cmid] == day, previous != day else { return }
        machinesByLastDay[day, default: 0] -= 1
        if machinesByLastDay[day] == 0 { machinesByLastDay[day] = nil }
        lastDay[cmid] = previous
        if let previous { machinesByLastDay[previous, default: 0] += 1 }
    }

    /// Every machine ever recorded, in or out of the window.
    public var knownMachines: Int { lastDay.count }

    /// Forgets machines last seen before the window of `date`, to bound memory over years.
    public mutating func prune(before date: Date) {
        let first = CountWindow.day(of: date) - days + 1
        for (cmid, day) in lastDay where day < first { lastDay[cmid] = nil }
        for day in machinesByLastDay.keys where day < first { machinesByLastDay[day] = nil }
    }
}

/// The count windows of every class on a host. Classes count independently.
public struct ClassCounts: Sendable, Equatable {
    public private(set) var windows: [String: CountWindow] = [:]
    /// New machines per address block today (the per-address budget).
    public internal(set) var newMachines = NewMachineLedger(day: 0)

    public init() {}

    public mutating func record(_ cmid: String, class productClass: String, at date: Date) {
        windows[productClass, default: CountWindow()].record(cmid, at: date)
    }

    public mutating func record(_ cmid: String, class productClass: String, day: Int) {
        windows[productClass, default: CountWindow()].record(cmid, day: day)
    }

    /// Forgets, in every class, machines last seen before the window of `date`.
    public mutating func prune(before date: Date) {
        for key in windows.keys { windows[key]!.prune(before: date) }
    }

    public mutating func undo(_ cmid: String, class productClass: String, recordedDay day: Int, previous: Int?) {
        windows[productClass]?.undo(cmid, recordedDay: day, previous: previous)
    }

    public func count(class productClass: String, at date: Date) -> Int {
        windows[productClass]?.count(at: date) ?? 0
    }

    public func count(including cmid: String, class productClass: String, at date: Date) -> Int {
        windows[productClass]?.count(including: cmid, at: date) ?? 1
    }
}
