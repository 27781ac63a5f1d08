import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendor
import TallyVendorLink

@Suite("Online vendor: activation and renewal over TLS on loopback", .serialized)
struct OnlineActivationTests {
    @Test("a host activates in one step: certificate from the online root, the root learnt from the offline root's statement, vurl from the catalog")
    func activation() async throws {
        try await withOnlineVendor { vendor in
            let key = try vendor.key()
            let host = try vendor.host(key)
            // The host trusts only the offline root it got with its key.
            #expect(try host.trustedRoots().keys.keys.sorted() == [try vendor.authority.publicKey().kid!])
            let result = try await vendor.online(host).activate(url: vendor.url)
            let online = try #require(try vendor.authority.roots().active(.online))
            #expect(result.unlock == "newHost")
            #expect(result.adoptedRoots == [online.kid])
            #expect(try host.certificate()?.signer == online.kid)
            #expect(result.certificate.claims.vurl == vendor.url)
            #expect(result.certificate.claims.skus.map(\.sku) == ["studio-pro", "studio-server", "studio-standard"])
            // 200 days by default, never less than a ticket.
            let days = result.certificate.expires.timeIntervalSince(result.certificate.claims.iat.date) / 86_400
            #expect(days == 200)
            // The ledger counted it, and the audit names the address and the channel.
            #expect(try vendor.authority.ledger().entries.first { $0.keyID == key.keyID }?.hosts.count == 1)
            let row = try #require(try vendor.authority.audit().last)
            #expect(row.kind == .activation && row.channel == .online && row.result == .success && row.address == "127.0.0.1")
            #expect(row.hostId == (try host.info().hostID) && row.keyId == key.keyID && row.serial == result.certificate.claims.serial)
            // The offline root's key was never in the serving state directory.
            #expect(!vendor.authority.directory.exists(VendorAuthority.rootKeyFile))
        }
    }

    @Test("renewal is signed by the host's key pair, carries no host key, is free, and uses the certificate's vurl")
    func renewal() async throws {
        try await withOnlineVendor { vendor in
            let key = try vendor.key(maxHosts: 1, perHost: 1)
            let host = try vendor.host(key)
            let first = try await vendor.online(host).activate(url: vendor.url)
            let request = try host.renewalRequest()
            let payload = String(decoding: try #require(Base64URL.decode(request.split(separator: ".")[1])), as: UTF8.self)
            #expect(payload.contains("\"hid\"") && !payload.contains(key.description) && !payload.contains(key.normalized))
            let store = try SQLiteHostStore(path: host.directory.file("host.sqlite").path)
            // No URL given: the certificate's vurl says where.
            let renewed = try await vendor.online(host).renew(url: nil, events: store)
            #expect(renewed.unlock == "renewal")
            #expect(renewed.certificate.claims.serial > first.certificate.claims.serial)
            #expect(try host.certificate()?.compact == renewed.certificate.compact)
            // Renewing used none of the key's one host and one activation: a second renewal works too.
            _ = try await vendor.online(host).renew(url: nil)
            #expect(try vendor.authority.ledger().entries.first { $0.keyID == key.keyID }?.hosts.first?.keyPairs.count == 1)
            let events = try await store.events(EventQuery(since: nil, afterSeq: nil, id: .certificateRenewed, limit: 10))
            #expect(events.count == 1)
            #expect(events.first?.event.fields["serial"] == String(renewed.certificate.claims.serial))
        }
    }

    @Test("a blocked key: activation and renewal are C004C003 (403), logged as 12302 and audited; nothing is installed")
    func blockedKey() async throws {
        try await withOnlineVendor { vendor in
            let key = try vendor.key()
            let host = try vendor.host(key)
            let first = try await vendor.online(host).activate(url: vendor.url)
            try vendor.authority.blockHostKey(keyID: key.keyID)
            let store = try SQLiteHostStore(path: host.directory.file("host.sqlite").path)
            #expect(await errorCode { _ = try await vendor.online(host).renew(url: nil, events: store) } == .keyBlocked)
            #expect(await errorCode { _ = try await vendor.online(host).activate(url: vendor.url) } == .keyBlocked)
            #expect(try host.certificate()?.compact == first.certificate.compact)
            let failed = try await store.events(EventQuery(since: nil, afterSeq: nil, id: .renewalFailed, limit: 10))
            #expect(failed.map(\.event.result) == [.keyBlocked])
            #expect(failed.first?.event.fields["remedy"]?.contains("install-key") == true)
            let refusals = try vendor.authority.audit().filter { $0.result == .keyBlocked }
            #expect(refusals.map(\.kind) == [.renewal, .activation])
            #expect(refusals.allSatisfy { $0.hostId == first.certificate.claims.sub && $0.keyId == key.keyID })
        }
    }

    @Test("a host key this vendor never issued is C004F050; a request signed by another key is refused; neither counts")
    func badKey() async throws {
        try await withOnlineVendor { vendor in
            let stranger = HostIdentity(directory: StateDirectory(vendor.temp.path("stranger")))
            _ = try stranger.installKey(ProductKey.generate(.host).description, vendorRoots: [try vendor.authority.publicKey()])
            #expect(await errorCode { _ = try await vendor.online(stranger).activate(url: vendor.url) } == .invalidKey)
            // A renewal request whose certificate was signed by no root of this vendor.
            let other = try ActivatedHost()
            let forged = try other.host.renewalRequest()
            #expect(await errorCode { _ = try await VendorLink.renew(request: forged, at: vendor.vendorURL, settings: vendor.settings) } == .tokenRejected)
            #expect(try vendor.authority.ledger().entries.isEmpty)
            #expect(try vendor.authority.audit().map(\.result) == [.invalidKey, .tokenRejected])
        }
    }

    @Test("twenty concurrent activations for a key's last free host: exactly one wins, nineteen get C004C008")
    func lastUnlockUnderConcurrency() async throws {
        try await withOnlineVendor { vendor in
            let key = try vendor.key(maxHosts: 3)
            for _ in 0..<2 { _ = try await vendor.online(try vendor.host(key)).activate(url: vendor.url) }
            let hosts = try (0..<20).map { _ in try vendor.host(key) }
            let codes = await withTaskGroup(of: ResultCode?.self) { group in
                for host in hosts {
                    group.addTask { await errorCode { _ = try await vendor.online(host).activate(url: vendor.url) } }
                }
                var codes: [ResultCode?] = []
                for await code in group { codes.append(code) }
                return codes
            }
            #expect(codes.filter { $0 == nil }.count == 1, "\(codes)")
            #expect(codes.filter { $0 == .unlockLimitReached }.count == 19, "\(codes)")
            #expect(try vendor.authority.ledger().entries.first?.hosts.count == 3)
            #expect(try hosts.filter { try $0.certificate() != nil }.count == 1)
        }
    }

    @Test("offline and online activation share one ledger; an answer file carries the statements when the online root signs it")
    func sharedLedger() async throws {
        try await withOnlineVendor { vendor in
            let key = try vendor.key(maxHosts: 2)
            _ = try await vendor.online(try vendor.host(key)).activate(url: vendor.url)
            // The offline root's key is not on this machine: `activate-host` signs with the online root.
            let offline = try vendor.host(key)
            let activation = try vendor.authority.activateHost(request: offline.activationRequest())
            #expect(activation.signer == (try vendor.authority.roots().active(.online)?.kid))
            let installed = try offline.installCertificate(activation.answerFile)
            #expect(installed.signer == activation.signer)
            #expect(try offline.trustedRoots().keys[activation.signer] != nil)
            #expect(await errorCode { _ = try await vendor.online(try vendor.host(key)).activate(url: vendor.url) } == .unlockLimitReached)
            #expect(try vendor.authority.audit().filter { $0.kind == .activation }.map(\.channel) == [.online, .offline, .online])
        }
    }
}
