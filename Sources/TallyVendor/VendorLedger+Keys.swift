import Foundation
import GRDB
import TallyCore

extension VendorLedger {
    /// Records a newly issued host key (its hash only).
    public func add(_ key: ProductKey, group: String, maxHosts: Int, maxActivationsPerHost: Int, now: Date, audit: VendorAuditRecord) throws(TallyError) {
        try write("record the host key") { db in
            try db.execute(sql: """
                INSERT INTO host_keys (key_id, hash, grp, max_hosts, max_activations_per_host, blocked, issued_at)
                VALUES (?, ?, ?, ?, ?, 0, ?)
                """, arguments: [key.keyID, key.hash, group, maxHosts, maxActivationsPerHost, now.timeIntervalSince1970])
            try Self.insert(audit, db)
        }
    }

    /// Blocks a key by its id; `false` when no such key exists.
    public func block(keyID: String, audit: VendorAuditRecord) throws(TallyError) -> Bool {
        try write("block the host key") { db in
            try db.execute(sql: "UPDATE host_keys SET blocked = 1 WHERE key_id = ?", arguments: [keyID])
            guard db.changesCount > 0 else { return false }
            try Self.insert(audit, db)
            return true
        }
    }

    /// Every key with its hosts and key pairs, as the JSON ledger held them.
    public func snapshot() throws(TallyError) -> HostKeyLedger {
        try read("read the ledger") { db in
            var ledger = HostKeyLedger()
            let hashes = try String.fetchAll(db, sql: "SELECT hash FROM host_keys ORDER BY issued_at, rowid")
            ledger.entries = try hashes.compactMap { try Self.entry(db, hash: $0) }
            ledger.lastSerial = try Self.counter(db, "last_serial")
            return ledger
        }
    }

    /// One key's entry, or `nil` for a hash this vendor never issued.
    static func entry(_ db: Database, hash: String) throws -> HostKeyLedger.Entry? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT key_id, grp, max_hosts, max_activations_per_host, blocked, issued_at FROM host_keys WHERE hash = ?
            """, arguments: [hash]) else { return nil }
        var pairs: [String: [String]] = [:]
        for pair in try Row.fetchAll(db, sql: "SELECT host_id, thumbprint FROM key_pairs WHERE key_hash = ? ORDER BY position", arguments: [hash]) {
            pairs[pair[0], default: []].append(pair[1])
        }
        let hosts = try Row.fetchAll(db, sql: "SELECT host_id, first_activated, last_serial FROM hosts WHERE key_hash = ? ORDER BY position",
                                     arguments: [hash]).map { host in
            HostKeyLedger.HostRecord(hostID: host[0], keyPairs: pairs[host[0]] ?? [], firstActivated: Date(timeIntervalSince1970: host[1]),
                                     lastSerial: host[2])
        }
        return HostKeyLedger.Entry(keyID: row[0], hash: hash, group: row[1], maxHosts: row[2], maxActivationsPerHost: row[3],
                                   blocked: row[4], issuedAt: Date(timeIntervalSince1970: row[5]), hosts: hosts)
    }

    static func counter(_ db: Database, _ name: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT value FROM counters WHERE name = ?", arguments: [name]) ?? 0
    }

    static func setCounter(_ db: Database, _ name: String, _ value: Int) throws {
        try db.execute(sql: "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                       arguments: [name, value])
    }

    /// A certificate signed inside the unlock's transaction.
    public struct Issued: Sendable {
        public var compact: String
        public var claims: HostCertificateClaims
        /// The root that signed it.
        public var kid: String

        public init(compact: String, claims: HostCertificateClaims, kid: String) {
            self.compact = compact
            self.claims = claims
            self.kid = kid
        }
    }

    /// Decides and records one unlock in one immediate transaction: the key's entry is read, the unlock rule
    /// applied, the certificate signed by `issue` (given the entry, what the unlock costs and the serial) and
    /// recorded with the audit row. A refusal (or `renewalOnly` for a key pair the ledger does not know) writes
    /// nothing and is thrown; the caller records it with ``record(_:)``.
    public func unlock(hash: String, hostID: String, thumbprint: String, renewalOnly: Bool, now: Date, audit: VendorAuditRecord,
                       issue: (HostKeyLedger.Entry, HostKeyLedger.Unlock, Int) throws -> Issued) throws(TallyError) -> (entry: HostKeyLedger.Entry, unlock: HostKeyLedger.Unlock, issued: Issued) {
        try write("record the host activation") { db in
            guard let entry = try Self.entry(db, hash: hash) else {
                throw TallyError(.invalidKey, "this host key was not issued by this vendor")
            }
            let (after, unlock) = try entry.unlocking(hostID: hostID, thumbprint: thumbprint, now: now)
            if renewalOnly, unlock != .renewal {
                throw TallyError(.renewalUnknownKeyPair, "the ledger holds no key pair \(thumbprint.prefix(12))… for host \(hostID) under host key \(entry.keyID)")
            }
            let serial = try Self.counter(db, "last_serial") + 1
            try Self.setCounter(db, "last_serial", serial)
            let issued = try issue(after, unlock, serial)
            switch unlock {
            case .newHost:
                try db.execute(sql: """
                    INSERT INTO hosts (key_hash, host_id, first_activated, last_serial, position) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [hash, hostID, now.timeIntervalSince1970, serial, entry.hosts.count])
                try db.execute(sql: "INSERT INTO key_pairs (key_hash, host_id, thumbprint, position) VALUES (?, ?, ?, 0)",
                               arguments: [hash, hostID, thumbprint])
            case .newKeyPair:
                let position = entry.hosts.first { $0.hostID == hostID }?.keyPairs.count ?? 0
                try db.execute(sql: "INSERT INTO key_pairs (key_hash, host_id, thumbprint, position) VALUES (?, ?, ?, ?)",
                               arguments: [hash, hostID, thumbprint, position])
            case .renewal:
                break
            }
            try db.execute(sql: "UPDATE hosts SET last_serial = ? WHERE key_hash = ? AND host_id = ?", arguments: [serial, hash, hostID])
            try db.execute(sql: """
                INSERT INTO certificates (serial, host_id, key_hash, thumbprint, kid, issued_at, expires_at, channel)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [serial, hostID, hash, thumbprint, issued.kid, issued.claims.iat.date.timeIntervalSince1970,
                                 issued.claims.exp.date.timeIntervalSince1970, audit.channel.rawValue])
            var row = audit
            row.keyId = entry.keyID
            row.serial = serial
            try Self.insert(row, db)
            var recorded = after
            recorded.recordSerial(serial, for: hostID)
            return (recorded, unlock, issued)
        }
    }

    /// Certificates signed by root `kid` that expire after `now`: how many, and the last expiry.
    public func unexpiredCertificates(kid: String, now: Date) throws(TallyError) -> (count: Int, lastExpiry: Date?) {
        try read("count the root's certificates") { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), MAX(expires_at) FROM certificates WHERE kid = ? AND expires_at > ?",
                                       arguments: [kid, now.timeIntervalSince1970])
            let count: Int = row?[0] ?? 0
            let last: Double? = row?[1]
            return (count, last.map { Date(timeIntervalSince1970: $0) })
        }
    }

    /// The key id of the key with this hash, if this vendor issued it.
    public func keyID(hash: String) throws(TallyError) -> String? {
        try read("look up the host key") { db in try String.fetchOne(db, sql: "SELECT key_id FROM host_keys WHERE hash = ?", arguments: [hash]) }
    }
}
