import Foundation
import GRDB
import TallyCore

extension SQLiteHostStore {
    /// Fills the store with `count` synthetic clients of `sku`/`productClass`, each with a sighting spread over
    /// the last `days` days, in transactions of 10,000: for measuring start-up time and memory with a large
    /// site (`tally host fill`). Returns the number written.
    public func fillSynthetic(count: Int, sku: String, productClass: String, days: Int = 30, now: Date = Date()) throws -> Int {
        let today = CountWindow.day(of: now)
        var written = 0
        do {
            while written < count {
                let chunk = min(10_000, count - written)
                try pool.write { db in
                    let client = try db.cachedStatement(sql: """
                        INSERT OR IGNORE INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_result, requests, ticket_expires, license_status)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, 'Licensed')
                        """)
                    let sighting = try db.cachedStatement(sql: "INSERT OR IGNORE INTO sightings (cmid, sku, class, day) VALUES (?, ?, ?, ?)")
                    let fingerprint = try db.cachedStatement(sql: "INSERT OR IGNORE INTO fingerprints (cmid, fingerprint, machine, last_day) VALUES (?, ?, ?, ?)")
                    for index in 0..<chunk {
                        let cmid = CMID.generate()
                        let day = today - (written + index) % max(1, days)
                        let time = Double(day) * 86_400 + 3600
                        let print = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
                        let machine = "synthetic-\(written + index)"
                        try client.execute(arguments: [cmid, sku, productClass, print, machine, time, time, time + Intervals.activationValidity])
                        try sighting.execute(arguments: [cmid, sku, productClass, day])
                        try fingerprint.execute(arguments: [cmid, print, machine, day])
                    }
                }
                written += chunk
            }
        } catch {
            throw SQLiteHostStore.storeError("fill the store with synthetic clients", error)
        }
        return written
    }
}
