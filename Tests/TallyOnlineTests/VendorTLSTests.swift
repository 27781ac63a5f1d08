import Foundation
import NIOCore
import Testing
import TallyCore
import TallyHost
import TallyTestSupport
import TallyVendor
import TallyVendorLink
import TallyVendorServer

@Suite("Online vendor: the vendor's TLS certificate is checked", .serialized)
struct VendorTLSTests {
    @Test("a certificate from a CA the host does not pin is refused with 0xC0A70022, and so is an unknown CA under the system roots")
    func wrongCA() async throws {
        try await withOnlineVendor { vendor in
            let host = try vendor.host(try vendor.key())
            let stranger = try TestPKI(name: "Another CA")
            var pinned = vendor.settings
            pinned.caFile = stranger.caCertificate
            do {
                _ = try await vendor.online(host, settings: pinned).activate(url: vendor.url)
                Issue.record("a certificate from an unpinned CA was accepted")
            } catch let error as TallyError {
                #expect(error.code == .vendorTLSRejected)
                #expect(error.message.contains("CERTIFICATE_VERIFY_FAILED"), "\(error.message)")
                #expect(error.remedy.contains("--vendor-ca"))
            }
            var system = vendor.settings
            system.caFile = nil
            #expect(await errorCode { _ = try await vendor.online(host, settings: system).activate(url: vendor.url) } == .vendorTLSRejected)
            // Nothing reached the vendor's ledger: the handshake failed first.
            #expect(try vendor.authority.audit().filter { $0.kind == .activation }.isEmpty)
            #expect(try host.certificate() == nil)
        }
    }

    @Test("a certificate for another host name is refused, naming the host the URL asked for")
    func wrongName() async throws {
        let pki = try TestPKI()
        let (certificate, key) = try pki.server(names: ["DNS:vendor.example.com"], file: "other-name")
        let vendor = try await OnlineVendor(configure: { $0.tls = .init(certificateChain: certificate, privateKey: key) }, pki: pki)
        defer { Task { await vendor.stop() } }
        let host = try vendor.host(try vendor.key())
        for url in [vendor.url, "https://127.0.0.1:\(vendor.server.port)"] {
            do {
                _ = try await vendor.online(host).activate(url: url)
                Issue.record("a certificate for vendor.example.com was accepted for \(url)")
            } catch let error as TallyError {
                #expect(error.code == .vendorTLSRejected)
                #expect(error.message.contains(VendorURL(url)!.host), "\(error.message)")
            }
        }
        await vendor.stop()
    }

    @Test("plain HTTP is served only on loopback; a key that does not fit its certificate is refused at start")
    func plainAndBadFiles() async throws {
        let vendor = try await OnlineVendor(tls: false)
        let host = try vendor.host(try vendor.key())
        #expect(vendor.url.hasPrefix("http://"))
        let result = try await vendor.online(host).activate(url: vendor.url)
        #expect(result.unlock == "newHost")
        await vendor.stop()

        let configuration = VendorServerConfiguration(host: "0.0.0.0", port: 0)
        #expect(throws: TallyError(.usageError, "")) { try configuration.validate() }
        #expect(VendorURL("http://vendor.example.com") == nil)
        let pki = try TestPKI()
        let (certificate, _) = try pki.server(file: "a")
        let (_, otherKey) = try pki.server(file: "b")
        let mismatched = VendorServerConfiguration(host: "127.0.0.1", port: 0, tls: .init(certificateChain: certificate, privateKey: otherKey))
        await #expect(throws: TallyError(.vendorTLSConfiguration, "")) {
            _ = try await VendorServer.bind(configuration: mismatched, authority: vendor.authority, logger: OnlineVendor.logger)
        }
        let short = VendorServerConfiguration(host: "127.0.0.1", port: 0, certificateValidity: 179 * 86_400)
        #expect(throws: TallyError(.usageError, "")) { try short.validate() }
    }
}
