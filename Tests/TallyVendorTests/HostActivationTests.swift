import Foundation
import Testing
import TallyCore
import TallyTestSupport
import TallyFiles
import TallyHost
import TallyVendor

@Suite("Vendor activates hosts through files on disk")
struct HostActivationTests {
    @Test("install key, request, certificate: the host is activated for the expanded group")
    func fullActivation() throws {
        let fixture = try ActivatedHost()
        let status = try fixture.host.status()
        #expect(status.activated)
        #expect(status.skus.map(\.sku) == ["studio-pro", "studio-server", "studio-standard"])  // studio-2026 includes studio-2025
        #expect(status.thresholds == ["client": 25, "server": 5])
        #expect(status.certificateExpires != nil)
        #expect(fixture.certificate.claims.hkh == fixture.hostKey.hash)
    }

    @Test("secrets are written 0600 and a loosened secret is refused")
    func secretModes() throws {
        let fixture = try ActivatedHost()
        for (dir, file) in [(fixture.vendor.directory, VendorAuthority.rootKeyFile), (fixture.host.directory, "host-private.jwk"), (fixture.host.directory, "host-key")] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir.file(file).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) has mode \(String(mode ?? 0, radix: 8))")
        }
        chmod(fixture.vendor.directory.file(VendorAuthority.rootKeyFile).path, 0o644)
        #expect(throws: TallyError(.accessDenied, "")) { try fixture.vendor.rootKey() }
        chmod(fixture.host.directory.file("host-private.jwk").path, 0o640)
        #expect(throws: TallyError(.accessDenied, "")) { try fixture.host.activationRequest() }
    }

    @Test("a client setup key is refused on a host, with a hint, and nothing is written")
    func setupKeyOnHost() throws {
        let temp = TemporaryDirectory()
        let vendor = VendorAuthority(directory: StateDirectory(temp.path("vendor")))
        let (jwk, catalog) = try vendor.initialise(vendorID: "acme", vendorName: "Acme")
        let host = HostIdentity(directory: StateDirectory(temp.path("host")))
        do {
            _ = try host.installKey(catalog.allSKUs[0].setupKey, vendorRoots: [jwk])
            Issue.record("a setup key was accepted on a host")
        } catch let error as TallyError {
            #expect(error.code == .keyDoesNotMatch)
            #expect(error.hint?.contains("tally client ipk") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: temp.path("host/host.json")))
    }

    @Test("a typo in the host key is C004F050")
    func typo() throws {
        let temp = TemporaryDirectory()
        let host = HostIdentity(directory: StateDirectory(temp.path("host")))
        var chars = Array(ProductKey.generate(.host).normalized)
        chars.swapAt(5, 6)
        if chars[5] == chars[6] { chars[5] = chars[5] == "X" ? "Y" : "X" }
        #expect(throws: TallyError(.invalidKey, "")) { try host.installKey(String(chars), vendorRoots: nil) }
    }

    @Test("the unlock limit holds across hosts, renewals are free, a blocked key is refused")
    func unlockLimitOnDisk() throws {
        let temp = TemporaryDirectory()
        let vendor = VendorAuthority(directory: StateDirectory(temp.path("vendor")))
        let (jwk, _) = try vendor.initialise(vendorID: "acme", vendorName: "Acme")
        let key = try vendor.issueHostKey(group: "studio-2025", maxHosts: 2, maxActivationsPerHost: 1)
        var hosts: [HostIdentity] = []
        for i in 0..<3 {
            let host = HostIdentity(directory: StateDirectory(temp.path("host\(i)")))
            _ = try host.installKey(key.description, vendorRoots: [jwk])
            hosts.append(host)
        }
        _ = try vendor.activateHost(request: hosts[0].activationRequest())
        _ = try vendor.activateHost(request: hosts[1].activationRequest())
        #expect(throws: TallyError(.unlockLimitReached, "")) { try vendor.activateHost(request: hosts[2].activationRequest()) }
        // The same key pair again is a renewal.
        let renewal = try vendor.activateHost(request: hosts[0].activationRequest())
        #expect(renewal.unlock == .renewal)
        // A new key pair for host 0 is over its one activation.
        _ = try hosts[0].installKey(key.description, vendorRoots: nil, newIdentity: true)
        #expect(throws: TallyError(.unlockLimitReached, "")) { try vendor.activateHost(request: hosts[0].activationRequest()) }
        try vendor.blockHostKey(keyID: key.keyID)
        #expect(throws: TallyError(.keyBlocked, "")) { try vendor.activateHost(request: hosts[1].activationRequest()) }
        #expect(try vendor.ledger().entries[0].hosts.count == 2)
    }

    @Test("a request whose signature does not match its key is refused and counts nothing")
    func forgedRequest() throws {
        let fixture = try ActivatedHost()
        let request = try fixture.host.activationRequest()
        var parts = request.split(separator: ".").map(String.init)
        var claims = try TallyJSON.decode(HostActivationRequestClaims.self, from: Base64URL.decode(parts[1])!)
        claims.hid = CMID.generate()  // claim another host id without re-signing
        parts[1] = Base64URL.encode(try TallyJSON.encode(claims))
        let before = try fixture.vendor.ledger()
        #expect(throws: TallyError(.tokenRejected, "")) { try fixture.vendor.activateHost(request: parts.joined(separator: ".")) }
        #expect(try fixture.vendor.ledger() == before)
    }

    @Test("a certificate for another host or another vendor is not installed")
    func wrongCertificate() throws {
        let a = try ActivatedHost()
        let b = try ActivatedHost()
        // b's certificate is signed by another vendor: a does not trust it.
        #expect(throws: TallyError(.tokenRejected, "")) { try a.host.installCertificate(b.certificate.compact) }
        // A certificate from a's vendor for another host of the same vendor.
        let other = HostIdentity(directory: StateDirectory(a.temp.path("other")))
        _ = try other.installKey(a.hostKey.description, vendorRoots: [try a.vendor.publicKey()])
        let foreign = try a.vendor.activateHost(request: other.activationRequest())
        #expect(throws: TallyError(.tokenRejected, "")) { try a.host.installCertificate(foreign.certificate) }
        #expect(try a.host.certificate()?.compact == a.certificate.compact)
    }

    @Test("catalog problems stop host activation with C0A70007 and the place of each problem")
    func brokenCatalog() throws {
        let fixture = try ActivatedHost()
        let file = fixture.vendor.directory.file(VendorAuthority.catalogFile)
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"server\" : {", with: "\"srv\" : {")
        try text.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try fixture.vendor.activateHost(request: fixture.host.activationRequest())
            Issue.record("activation went on with a broken catalog")
        } catch let error as TallyError {
            #expect(error.code == .catalogInvalid)
            #expect(error.message.contains("class 'server' is not in $.classes"))
            #expect(error.message.contains("line "))
        }
    }
}
