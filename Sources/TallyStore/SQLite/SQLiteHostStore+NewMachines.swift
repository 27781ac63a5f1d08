import Foundation
import GRDB
import TallyCore

/// The per-address budget of new machines: its state for a day, from the index (machines admitted per block) and
/// the log (blocks already reported by event 12306); and the new machines per day for reports.
extension SQLiteHostStore {
    /// How many blocks ``newMachines(fromDay:toDay:busiest:)`` names per day by default.
    public static let busiestBlocks = 10

    /// The budget's state for `day` as the tables hold it. Called on the log's writer before this process decides
    /// the day's first batch: the index, completed at start, then holds every earlier decision of that day.
    func loadNewMachines(day: Int) throws -> NewMachineLedger {
        let admitted = try readIndex("read the new machines per address") { db in
            var admitted: [AddressBlock: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT block, machines FROM new_machines WHERE day = ?", arguments: [day]) {
                admitted[AddressBlock(address: row[0]), default: 0] += row[1] as Int
            }
            return admitted
        }
        let refused = try readLog("read the addresses over their budget") { db in
            let rows = try String.fetchAll(db, sql: "SELECT fields FROM events WHERE event_id = ? AND time >= ? AND time < ?",
                                           arguments: [EventID.newMachineBudgetReached.rawValue, Double(day) * 86_400, Double(day + 1) * 86_400])
            return Set(rows.compactMap { fields -> AddressBlock? in
                let object = try? JSONSerialization.jsonObject(with: Data(fields.utf8)) as? [String: Any]
                return (object?["address"] as? String).map { AddressBlock(address: $0) }
            })
        }
        return NewMachineLedger(day: day, admitted: admitted, refused: refused)
    }

    public func newMachines(fromDay: Int, toDay: Int, busiest: Int = SQLiteHostStore.busiestBlocks) async throws -> [DailyNewMachines] {
        try await catchUp()
        return try await indexRead("read the new machines per day") { db in
            var days: [Int: DailyNewMachines] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT day, SUM(machines), COUNT(*) FROM new_machines WHERE day BETWEEN ? AND ? GROUP BY day",
                                        arguments: [fromDay, toDay]) {
                days[row[0]] = DailyNewMachines(day: row[0], machines: row[1], addresses: row[2], busiest: [])
            }
            let top = try db.cachedStatement(sql: "SELECT block, machines FROM new_machines WHERE day = ? ORDER BY machines DESC, block LIMIT ?")
            for day in days.keys {
                days[day]?.busiest = try Row.fetchAll(top, arguments: [day, busiest]).map { BlockMachines(block: $0[0], machines: $0[1]) }
            }
            return days.values.sorted { $0.day < $1.day }
        }
    }
}
