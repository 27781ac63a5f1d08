import Foundation
import GRDB
import TallyCore

extension SQLiteHostStore {
    /// Fills the index with `count` synthetic clients of `sku`/`productClass`, each seen on one of the last `days`
    /// days, for measuring start-up time and memory of a large site (`tally host fill`). Returns the number
    /// written. Only for a store no host is serving: the serving host's memory would not know them.
    ///
    /// The CMIDs share one random prefix and count up, so the rows go in key order: appending to the B-trees
    /// instead of inserting at random places is what makes millions of rows take seconds.
    public func fillSynthetic(count: Int, sku: String, productClass: String, days: Int = 30, now: Date = Date()) throws -> Int {
        let today = CountWindow.day(of: now)
        let days = max(1, days)
        let prefix = Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        func cmid(_ index: Int) -> String {
            let digits = Hex.encode(withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) })  // 16 hex digits
            let d = Array(digits)
            // prefix-xxxx-4xxx-8xxx-xxxxxxxxxxxx with the counter's 16 digits in the x's (order preserved).
            return prefix + "-" + String(d[0..<4]) + "-4" + String(d[4..<7]) + "-8" + String(d[7..<10]) + "-" + String(d[10..<16]) + "000000"
        }
        let chunk = 50_000
        do {
            try index.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = OFF")
                defer { try? db.execute(sql: "PRAGMA synchronous = 1") }
                var start = 0
                while start < count {
                    let end = min(count, start + chunk)
                    try db.inTransaction {
                        let client = try db.cachedStatement(sql: """
                            INSERT OR IGNORE INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 1, ?, 'Licensed')
                            """)
                        for index in start..<end {
                            let day = today - index % days
                            let time = Double(day) * 86_400 + 3600
                            let print = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
                            try client.execute(arguments: [cmid(index), sku, productClass, print, "synthetic-\(index)", time, time, day,
                                                           time + Intervals.activationValidity])
                        }
                        return .commit
                    }
                    start = end
                }
                // Sightings in key order: day by day, each day's CMIDs counting up.
                for back in stride(from: days - 1, through: 0, by: -1) {
                    try db.inTransaction {
                        let sighting = try db.cachedStatement(sql: "INSERT OR IGNORE INTO sightings (day, sku, cmid, class) VALUES (?, ?, ?, ?)")
                        for index in stride(from: back, to: count, by: days) {
                            try sighting.execute(arguments: [today - back, sku, cmid(index), productClass])
                        }
                        let machines = back < count ? (count - back + days - 1) / days : 0
                        try db.execute(sql: """
                            INSERT INTO machine_days (class, day, machines) VALUES (?, ?, ?)
                            ON CONFLICT (class, day) DO UPDATE SET machines = machines + excluded.machines
                            """, arguments: [productClass, today - back, machines])
                        return .commit
                    }
                }
            }
        } catch {
            throw SQLiteHostStore.storeError("fill the store with synthetic clients", error)
        }
        let histogram = try readIndex("read the machines per day") { db in try SQLiteIndexer.histogram(db) }
        memory.withLock { $0.histogram = histogram }
        return count
    }
}
