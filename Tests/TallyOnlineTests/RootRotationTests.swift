import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport
import TallyVendor
import TallyVendorLink

@Suite("Online vendor: root rotation", .serialized)
struct RootRotationTests {
    @Test("rotate-root: the new online root is listed but signs only after use-root; hosts learn it from statements; retire-root waits for its certificates")
    func onlineRotation() async throws {
        try await withOnlineVendor { vendor in
            let authority = vendor.authority
            let old = try #require(try authority.roots().active(.online))
            let key = try vendor.key()
            let first = try vendor.host(key)
            _ = try await vendor.online(first).activate(url: vendor.url)

            // Without the offline root's key, no new root can be vouched for.
            #expect(throws: TallyError(.notInstalled, "")) { try authority.rotateRoot(role: .online) }
            let new = try authority.rotateRoot(role: .online, offlineKeyFile: vendor.offlineKeyFile)
            #expect(new.status == .standby)
            let profile = try authority.directory.readJSON(ClientProfile.self, from: VendorAuthority.profileFile)
            #expect(profile.roots.compactMap(\.kid) == [try authority.publicKey().kid!, old.kid, new.kid])

            // Until use-root, certificates still come from the old root; the host already learns the new one.
            let second = try vendor.host(key)
            let before = try await vendor.online(second).activate(url: vendor.url)
            #expect(try second.certificate()?.signer == old.kid)
            #expect(Set(before.adoptedRoots) == [old.kid, new.kid])

            _ = try authority.useRoot(new.kid)
            let renewed = try await vendor.online(first).renew(url: nil)
            #expect(try first.certificate()?.signer == new.kid)
            #expect(renewed.adoptedRoots == [new.kid])

            // The old root signed a certificate that is still valid (the second host's): it cannot be retired.
            do {
                _ = try authority.retireRoot(old.kid)
                Issue.record("a root with unexpired certificates was retired")
            } catch let error as TallyError {
                #expect(error.code == .rootInUse)
                #expect(error.message.contains("not expired"))
            }
            #expect(throws: TallyError(.rootInUse, "")) { try authority.retireRoot(new.kid) }
            #expect(throws: TallyError(.rootUnknown, "")) { try authority.retireRoot("online-nosuchroot") }

            // Once those certificates have expired it can, and leaves the client profile.
            let later = before.certificate.expires.addingTimeInterval(1)
            _ = try authority.retireRoot(old.kid, now: later)
            let after = try authority.directory.readJSON(ClientProfile.self, from: VendorAuthority.profileFile)
            #expect(!after.roots.contains { $0.kid == old.kid })
            #expect(throws: TallyError(.rootInUse, "")) { try authority.useRoot(old.kid) }
            // A certificate from the retired root renews no more; the host activates again, free for its key pair.
            #expect(await errorCode { _ = try await vendor.online(second).renew(url: nil) } == .tokenRejected)
            let again = try await vendor.online(second).activate(url: nil)
            #expect(again.unlock == "renewal")
            #expect(try second.certificate()?.signer == new.kid)
        }
    }

    @Test("a new offline root vouches for every trusted root, so a host that trusts only it still learns the online root")
    func offlineRotation() async throws {
        try await withOnlineVendor { vendor in
            let authority = vendor.authority
            let offline = try authority.rotateRoot(role: .offline, offlineKeyFile: vendor.offlineKeyFile)
            _ = try authority.useRoot(offline.kid)
            #expect(try authority.publicKey().kid == offline.kid)
            let host = try vendor.host(try vendor.key())
            #expect(try host.trustedRoots().keys.keys.sorted() == [offline.kid])
            let result = try await vendor.online(host).activate(url: vendor.url)
            #expect(result.adoptedRoots.contains(try #require(try authority.roots().active(.online)).kid))
        }
    }

    @Test("a host adopts a root only from a statement signed by a root it trusts; a forged one changes nothing")
    func foreignStatement() throws {
        let fixture = try ActivatedHost()
        let trusted = try fixture.host.trustedRoots().keys.keys.sorted()
        let rogue = SigningKey.generate(kidPrefix: "online-")
        let selfSigned = try RootStatement.issue(RootStatementClaims(vendor: "acme", root: rogue.publicJWK, issuedAt: Date()), signer: rogue)
        #expect(try fixture.host.adoptRoots([selfSigned]).isEmpty)
        // A certificate for this host signed by the rogue root, with the rogue's statement, is not installed.
        var claims = fixture.certificate.claims
        claims.serial += 100
        let forged = try HostCertificate.issue(claims, root: rogue)
        #expect(throws: TallyError(.tokenRejected, "")) { try fixture.host.installCertificate(forged, statements: [selfSigned]) }
        #expect(try fixture.host.trustedRoots().keys.keys.sorted() == trusted)
        #expect(try fixture.host.certificate()?.compact == fixture.certificate.compact)
        // A kid the host trusts, vouched for with another key, is refused too.
        let root = try fixture.vendor.rootKey()
        var impostor = rogue.publicJWK
        impostor.kid = root.kid
        let collision = try RootStatement.issue(RootStatementClaims(vendor: "acme", root: impostor, issuedAt: Date()), signer: root)
        #expect(RootStatement.adopt([collision], into: [root.publicJWK]).rejected == [collision])
    }
}
