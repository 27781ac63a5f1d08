import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport
import TallyVendor

@Suite("Vendor ledger in SQLite: migrations, ledger.json imported, one unlock at a time across connections", .serialized)
struct VendorLedgerTests {
    @Test("a state directory of the JSON version is imported on first use: keys, hosts, key pairs, serials; ledger.json is kept renamed")
    func importsJSON() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("vendor"))
        let fresh = VendorAuthority(directory: directory)
        _ = try fresh.initialise(vendorID: "acme", vendorName: "Acme")
        // Make it look like the earlier version: no database, no roots.json, no online root, a ledger.json.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
            where name.hasPrefix("ledger.sqlite") || name == VendorAuthority.rootsFile || name.hasPrefix("root-") {
            try FileManager.default.removeItem(at: directory.file(name))
        }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var json = HostKeyLedger()
        let key = ProductKey.generate(.host)
        json.add(key, group: "studio-2025", maxHosts: 2, maxActivationsPerHost: 2, now: now)
        let hosts = (0..<2).map { _ in CMID.generate() }
        _ = try json.unlock(hash: key.hash, hostID: hosts[0], thumbprint: "k1", now: now)
        _ = try json.unlock(hash: key.hash, hostID: hosts[1], thumbprint: "k2", now: now)
        _ = try json.unlock(hash: key.hash, hostID: hosts[0], thumbprint: "k3", now: now)
        try directory.writeJSON(json, to: VendorAuthority.legacyLedgerFile)

        let vendor = VendorAuthority(directory: directory)
        #expect(try vendor.ledger() == json)
        #expect(!directory.exists(VendorAuthority.legacyLedgerFile))
        #expect(directory.exists(VendorAuthority.legacyLedgerFile + ".imported"))
        #expect(try vendor.openLedger().appliedMigrations() == ["1-host-keys", "2-certificates", "3-audit", "4-reports", "5-report-chains"])
        // The old offline root is the only root; the imported certificates count as its, not yet expired.
        let roots = try vendor.roots()
        #expect(roots.roots.map(\.role) == [.offline])
        #expect(try vendor.openLedger().unexpiredCertificates(kid: roots.roots[0].kid, now: now).count == 2)
        // The limits go on from where the JSON ledger was: both hosts used, host 0 has used both key pairs.
        let third = HostIdentity(directory: StateDirectory(temp.path("third")))
        _ = try third.installKey(key.description, vendorRoots: [try vendor.publicKey()])
        #expect(throws: TallyError(.unlockLimitReached, "")) { try vendor.activateHost(request: third.activationRequest()) }
        #expect(try vendor.ledger().lastSerial == 3)
        // Opening again imports nothing twice.
        #expect(try VendorAuthority(directory: directory).ledger() == json)
    }

    @Test("twenty processes' worth of connections race for a key's last host: exactly one wins, the rest get C004C008")
    func lastUnlockAcrossConnections() throws {
        let fixture = try ActivatedHost(maxHosts: 2)
        let hosts = try (0..<20).map { index -> HostIdentity in
            let host = HostIdentity(directory: StateDirectory(fixture.temp.path("racer\(index)")))
            _ = try host.installKey(fixture.hostKey.description, vendorRoots: [try fixture.vendor.publicKey()])
            return host
        }
        let requests = try hosts.map { try $0.activationRequest() }
        let outcomes = LockedResults()
        let directory = fixture.vendor.directory
        DispatchQueue.concurrentPerform(iterations: requests.count) { index in
            // Each its own authority and database connection, as separate `tally vendor` processes would have.
            let authority = VendorAuthority(directory: directory)
            do {
                _ = try authority.activateHost(request: requests[index])
                outcomes.add(nil)
            } catch let error as TallyError {
                outcomes.add(error.code)
            } catch {
                outcomes.add(ResultCode(0xFFFF_FFFF))
            }
        }
        #expect(outcomes.values.filter { $0 == nil }.count == 1, "\(outcomes.values)")
        #expect(outcomes.values.filter { $0 == .unlockLimitReached }.count == 19, "\(outcomes.values)")
        #expect(try fixture.vendor.ledger().entries[0].hosts.count == 2)
        #expect(try fixture.vendor.audit().filter { $0.kind == .activation && $0.result == .unlockLimitReached }.count == 19)
    }

    @Test("the audit: every key change, activation and refusal is a row, listed from --since on")
    func audit() throws {
        let fixture = try ActivatedHost()
        let start = Date()
        try fixture.vendor.blockHostKey(keyID: fixture.hostKey.keyID)
        #expect(throws: TallyError(.keyBlocked, "")) { try fixture.vendor.activateHost(request: fixture.host.activationRequest()) }
        let all = try fixture.vendor.audit()
        #expect(all.map(\.kind) == [.issueKey, .activation, .blockKey, .activation])
        #expect(all.map(\.result) == [.success, .success, .success, .keyBlocked])
        #expect(all.allSatisfy { $0.channel == .offline && $0.keyId == fixture.hostKey.keyID })
        #expect(try fixture.vendor.audit(since: start).count == 2)
        #expect(try fixture.vendor.audit(since: Date().addingTimeInterval(60)).isEmpty)
    }
}

final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [ResultCode?] = []

    func add(_ code: ResultCode?) { lock.withLock { results.append(code) } }
    var values: [ResultCode?] { lock.withLock { results } }
}
