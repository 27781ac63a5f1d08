import Foundation
import GRDB
import TallyCore

extension VendorLedger {
    /// Imports the JSON ledger of earlier versions (`ledger.json`) into an empty database, in one transaction.
    ///
    /// The JSON ledger did not record certificates. Each host's last certificate is recorded as signed by
    /// `rootKID` (the only root there was) and, its expiry unknown, as expiring `validity` after the import, so
    /// `vendor retire-root` stays on the safe side. Returns `false` when the database already holds keys.
    public func importJSON(_ ledger: HostKeyLedger, rootKID: String, now: Date, validity: TimeInterval = Intervals.certificateValidity) throws(TallyError) -> Bool {
        try write("import ledger.json") { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM host_keys") == 0 else { return false }
            for entry in ledger.entries {
                try db.execute(sql: """
                    INSERT INTO host_keys (key_id, hash, grp, max_hosts, max_activations_per_host, blocked, issued_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [entry.keyID, entry.hash, entry.group, entry.maxHosts, entry.maxActivationsPerHost, entry.blocked,
                                     entry.issuedAt.timeIntervalSince1970])
                for (position, host) in entry.hosts.enumerated() {
                    try db.execute(sql: "INSERT INTO hosts (key_hash, host_id, first_activated, last_serial, position) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [entry.hash, host.hostID, host.firstActivated.timeIntervalSince1970, host.lastSerial, position])
                    for (index, thumbprint) in host.keyPairs.enumerated() {
                        try db.execute(sql: "INSERT INTO key_pairs (key_hash, host_id, thumbprint, position) VALUES (?, ?, ?, ?)",
                                       arguments: [entry.hash, host.hostID, thumbprint, index])
                    }
                    guard host.lastSerial > 0, let thumbprint = host.keyPairs.last else { continue }
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO certificates (serial, host_id, key_hash, thumbprint, kid, issued_at, expires_at, channel)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 'imported')
                        """, arguments: [host.lastSerial, host.hostID, entry.hash, thumbprint, rootKID, host.firstActivated.timeIntervalSince1970,
                                         now.addingTimeInterval(validity).timeIntervalSince1970])
                }
            }
            try Self.setCounter(db, "last_serial", ledger.lastSerial)
            return true
        }
    }
}
