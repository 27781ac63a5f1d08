import Foundation
import TallyCore

/// The vendor's record of every host key it issued: only the key's hash, its group and limits, and which hosts
/// and key pairs it has unlocked. The unlock rules are pure functions of this value.
public struct HostKeyLedger: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var keyID: String
        /// SHA-256 (hex) of the normalised key. The key itself is never stored.
        public var hash: String
        public var group: String
        public var maxHosts: Int
        public var maxActivationsPerHost: Int
        public var blocked: Bool
        public var issuedAt: Date
        public var hosts: [HostRecord]
    }

    public struct HostRecord: Codable, Sendable, Equatable {
        public var hostID: String
        /// RFC 7638 thumbprints of every key pair this host was certified for, oldest first.
        public var keyPairs: [String]
        public var firstActivated: Date
        public var lastSerial: Int
    }

    public var entries: [Entry] = []
    public var lastSerial: Int = 0

    public init() {}

    public mutating func add(_ key: ProductKey, group: String, maxHosts: Int, maxActivationsPerHost: Int, now: Date) {
        entries.append(Entry(keyID: key.keyID, hash: key.hash, group: group, maxHosts: maxHosts,
                             maxActivationsPerHost: maxActivationsPerHost, blocked: false, issuedAt: now, hosts: []))
    }

    /// What an unlock costs, decided before anything is written.
    public enum Unlock: Sendable, Equatable {
        /// A host id this key has not seen: one of `max-hosts`.
        case newHost
        /// A new key pair for a known host: one of `max-activations-per-host`.
        case newKeyPair
        /// The same host and key pair again (certificate renewal): free.
        case renewal
    }

    /// Records an unlock of `hostID` with key pair `thumbprint` by the key whose hash is `hash`, and returns
    /// the certificate serial to use. Over a limit: C004C008; a blocked or unknown key: C004C003 / C004F050.
    public mutating func unlock(hash: String, hostID: String, thumbprint: String, now: Date) throws(TallyError) -> (entry: Entry, unlock: Unlock, serial: Int) {
        guard let index = entries.firstIndex(where: { $0.hash == hash }) else {
            throw TallyError(.invalidKey, "this host key was not issued by this vendor")
        }
        var (entry, unlock) = try entries[index].unlocking(hostID: hostID, thumbprint: thumbprint, now: now)
        lastSerial += 1
        entry.recordSerial(lastSerial, for: hostID)
        entries[index] = entry
        return (entry, unlock, lastSerial)
    }

    /// Blocks a key by its id; returns `false` when no such key exists.
    public mutating func block(keyID: String) -> Bool {
        guard let index = entries.firstIndex(where: { $0.keyID == keyID }) else { return false }
        entries[index].blocked = true
        return true
    }
}

extension HostKeyLedger.Entry {
    /// The unlock rule for one key: what unlocking `hostID` with key pair `thumbprint` costs, and the entry
    /// after it. Over a limit: C004C008; a blocked key: C004C003. Nothing changes when it throws.
    public func unlocking(hostID: String, thumbprint: String, now: Date) throws(TallyError) -> (entry: Self, unlock: HostKeyLedger.Unlock) {
        guard !blocked else { throw TallyError(.keyBlocked, "host key \(keyID) is blocked") }
        var entry = self
        if let h = entry.hosts.firstIndex(where: { $0.hostID == hostID }) {
            if entry.hosts[h].keyPairs.contains(thumbprint) { return (entry, .renewal) }
            guard entry.hosts[h].keyPairs.count < maxActivationsPerHost else {
                throw TallyError(.unlockLimitReached, "host \(hostID) has used all \(maxActivationsPerHost) activations of host key \(keyID)")
            }
            entry.hosts[h].keyPairs.append(thumbprint)
            return (entry, .newKeyPair)
        }
        guard entry.hosts.count < maxHosts else {
            throw TallyError(.unlockLimitReached, "host key \(keyID) has unlocked all \(maxHosts) hosts it may")
        }
        entry.hosts.append(HostKeyLedger.HostRecord(hostID: hostID, keyPairs: [thumbprint], firstActivated: now, lastSerial: 0))
        return (entry, .newHost)
    }

    mutating func recordSerial(_ serial: Int, for hostID: String) {
        if let h = hosts.firstIndex(where: { $0.hostID == hostID }) { hosts[h].lastSerial = serial }
    }
}
