import Foundation
import Testing
import TallyCore
import TallyTestSupport
@testable import TallyVendor

@Suite("Host key ledger: unlock limits as pure rules")
struct HostKeyLedgerTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func ledger(maxHosts: Int = 2, perHost: Int = 3) -> (HostKeyLedger, ProductKey) {
        var ledger = HostKeyLedger()
        let key = ProductKey.generate(.host)
        ledger.add(key, group: "g", maxHosts: maxHosts, maxActivationsPerHost: perHost, now: now)
        return (ledger, key)
    }

    @Test("the ledger keeps the key's hash, never the key")
    func keepsOnlyHash() throws {
        let (ledger, key) = ledger()
        let json = String(decoding: try TallyJSON.encode(ledger), as: UTF8.self)
        #expect(!json.contains(key.normalized))
        #expect(!json.contains(key.description))
        #expect(json.contains(key.hash))
    }

    @Test("a new host uses a host slot, a new key pair an activation, a renewal nothing")
    func unlockKinds() throws {
        var (ledger, key) = ledger(maxHosts: 2, perHost: 2)
        #expect(try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now).unlock == .newHost)
        #expect(try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now).unlock == .renewal)
        #expect(try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k2", now: now).unlock == .newKeyPair)
        // Two key pairs is this host's limit; renewing either stays free.
        #expect(throws: TallyError(.unlockLimitReached, "")) { try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k3", now: now) }
        #expect(try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k2", now: now).unlock == .renewal)
        #expect(try ledger.unlock(hash: key.hash, hostID: "h2", thumbprint: "k9", now: now).unlock == .newHost)
        #expect(throws: TallyError(.unlockLimitReached, "")) { try ledger.unlock(hash: key.hash, hostID: "h3", thumbprint: "k1", now: now) }
        #expect(ledger.entries[0].hosts.map(\.hostID) == ["h1", "h2"])
    }

    @Test("a refused unlock changes nothing")
    func refusalChangesNothing() throws {
        var (ledger, key) = ledger(maxHosts: 1, perHost: 1)
        _ = try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now)
        let before = ledger
        #expect(throws: TallyError(.unlockLimitReached, "")) { try ledger.unlock(hash: key.hash, hostID: "h2", thumbprint: "k1", now: now) }
        #expect(throws: TallyError(.unlockLimitReached, "")) { try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k2", now: now) }
        #expect(ledger == before)
    }

    @Test("serials increase with every certificate")
    func serials() throws {
        var (ledger, key) = ledger()
        let a = try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now).serial
        let b = try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now).serial
        #expect(b == a + 1)
    }

    @Test("a blocked key is C004C003, an unknown key C004F050")
    func blockedAndUnknown() throws {
        var (ledger, key) = ledger()
        let blocked = ledger.block(keyID: key.keyID)
        let unknown = ledger.block(keyID: "hk-000000000000")
        #expect(blocked)
        #expect(!unknown)
        #expect(throws: TallyError(.keyBlocked, "")) { try ledger.unlock(hash: key.hash, hostID: "h1", thumbprint: "k1", now: now) }
        #expect(throws: TallyError(.invalidKey, "")) { try ledger.unlock(hash: ProductKey.generate(.host).hash, hostID: "h1", thumbprint: "k1", now: now) }
    }
}
