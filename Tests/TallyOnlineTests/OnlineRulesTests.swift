import Foundation
import Testing
import TallyCore
import TallyVendor
@testable import TallyVendorLink
@testable import TallyVendorServer

@Suite("Online vendor rules, without sockets")
struct OnlineRulesTests {
    static let a = ReportChainRule.Link(seq: 1, hash: "h1", prv: "", receipt: "r1")
    static let b = ReportChainRule.Link(seq: 2, hash: "h2", prv: "h1", receipt: "r2")

    @Test("report chain: new, repeated, rewritten, not extending, not extended, a gap")
    func chainRule() {
        typealias Rule = ReportChainRule
        #expect(Rule.decide(hostID: "h", seq: 1, hash: "h1", prv: "", before: nil, at: nil, after: nil) == .accept)
        #expect(Rule.decide(hostID: "h", seq: 1, hash: "h1", prv: "", before: nil, at: Self.a, after: nil) == .repeated(receipt: "r1"))
        guard case .refuse(.reportRewritten, _) = Rule.decide(hostID: "h", seq: 1, hash: "other", prv: "", before: nil, at: Self.a, after: nil) else {
            Issue.record("a second report 1 was not refused as rewritten")
            return
        }
        guard case .refuse(.reportChainBroken, _) = Rule.decide(hostID: "h", seq: 2, hash: "x", prv: "not-h1", before: Self.a, at: nil, after: nil),
              case .refuse(.reportChainBroken, _) = Rule.decide(hostID: "h", seq: 1, hash: "h1-other", prv: "", before: nil, at: nil, after: Self.b),
              case .refuse(.reportChainBroken, _) = Rule.decide(hostID: "h", seq: 1, hash: "h1", prv: "something", before: nil, at: nil, after: nil)
        else {
            Issue.record("a broken chain was accepted")
            return
        }
        #expect(Rule.decide(hostID: "h", seq: 2, hash: "h2", prv: "h1", before: Self.a, at: nil, after: nil) == .accept)
        // Report 5 with 3 and 4 missing: accepted, the gap shows in the vendor's view.
        #expect(Rule.decide(hostID: "h", seq: 5, hash: "h5", prv: "h4", before: nil, at: nil, after: nil) == .accept)
        // Filling a gap must fit both neighbours.
        #expect(Rule.decide(hostID: "h", seq: 2, hash: "h2", prv: "h1", before: Self.a, at: nil, after: .init(seq: 3, hash: "h3", prv: "h2", receipt: "")) == .accept)
    }

    @Test("HTTPS_PROXY and NO_PROXY as curl reads them")
    func proxySettings() throws {
        let settings = try ProxySettings.fromEnvironment(["HTTPS_PROXY": "http://user:p%40ss@proxy.corp:3128", "NO_PROXY": "internal.corp, .lan,10.0.0.7,vendor.example:8443"])
        #expect(settings.server == .init(host: "proxy.corp", port: 3128, authorization: "Basic " + Data("user:p@ss".utf8).base64EncodedString()))
        func proxied(_ url: String) -> Bool { settings.proxy(for: VendorURL(url)!) != nil }
        #expect(proxied("https://vendor.example"))
        #expect(!proxied("https://vendor.example:8443"))
        #expect(!proxied("https://internal.corp") && !proxied("https://a.internal.corp") && !proxied("https://x.lan") && !proxied("https://10.0.0.7"))
        #expect(proxied("https://notinternal.corp"))
        #expect(!proxied("http://localhost:8080"))  // plain http (loopback only) never goes through the proxy
        #expect(try ProxySettings.fromEnvironment(["https_proxy": "p1:1", "HTTPS_PROXY": "p2:2"]).server?.host == "p1")
        #expect(try ProxySettings.fromEnvironment(["HTTPS_PROXY": "proxy"]).server?.port == 1080)
        #expect(try ProxySettings.fromEnvironment(["HTTPS_PROXY": "http://p:1", "no_proxy": "*"]).proxy(for: VendorURL("https://v.example")!) == nil)
        #expect(try ProxySettings.fromEnvironment([:]).server == nil)
        #expect(throws: TallyError(.proxyFailed, "")) { try ProxySettings.fromEnvironment(["HTTPS_PROXY": "https://p:443"]) }
        #expect(throws: TallyError(.proxyFailed, "")) { try ProxySettings.fromEnvironment(["HTTPS_PROXY": "http://"]) }
    }

    @Test("vendor URLs: https anywhere, http only on loopback, a path prefix, no query")
    func vendorURLs() {
        let url = VendorURL("https://vendor.example/tally/")!
        #expect(url.port == 443 && url.basePath == "/tally" && url.path(VendorPaths.activate) == "/tally/v1/host/activate")
        #expect(url.description == "https://vendor.example/tally")
        #expect(VendorURL("https://[::1]:8443")?.host == "::1")
        #expect(VendorURL("https://[::1]:8443")?.authority == "[::1]:8443")
        #expect(VendorURL("http://127.0.0.1:8080")?.secure == false)
        #expect(VendorURL("http://vendor.example") == nil)
        #expect(VendorURL("https://vendor.example/?a=1") == nil)
        #expect(VendorURL("ftp://vendor.example") == nil)
        #expect(VendorURL("https://user@vendor.example") == nil)
        #expect(VendorURL("https://10.1.2.3")?.hostIsIPAddress == true)
        #expect(VendorURL("https://vendor.example")?.hostIsIPAddress == false)
    }

    @Test("the rate limiter lets a burst through, then one request per interval, per address")
    func rateLimiter() {
        let clock = ManualSeconds()
        let limiter = VendorRateLimiter(rate: 2, burst: 4, clock: { clock.now })
        #expect((0..<5).map { _ in limiter.allow("a") } == [true, true, true, true, false])
        #expect(limiter.allow("b"))
        clock.advance(0.5)
        #expect(limiter.allow("a"))
        #expect(!limiter.allow("a"))
        #expect(VendorRateLimiter(rate: 0, burst: 1, clock: { 0 }).allow("a"))
    }

    @Test("root statements chain in any order from a trusted root; an unchained one is rejected")
    func statements() throws {
        let a = SigningKey.generate(kidPrefix: "vendor-"), b = SigningKey.generate(kidPrefix: "online-"), c = SigningKey.generate(kidPrefix: "online-")
        let stranger = SigningKey.generate()
        let bByA = try RootStatement.issue(RootStatementClaims(vendor: "v", root: b.publicJWK, issuedAt: Date()), signer: a)
        let cByB = try RootStatement.issue(RootStatementClaims(vendor: "v", root: c.publicJWK, issuedAt: Date()), signer: b)
        let byStranger = try RootStatement.issue(RootStatementClaims(vendor: "v", root: stranger.publicJWK, issuedAt: Date()), signer: stranger)
        let adoption = RootStatement.adopt([cByB, byStranger, bByA], into: [a.publicJWK])
        #expect(adoption.adopted.map(\.kid) == [b.kid, c.kid])
        #expect(adoption.rejected == [byStranger])
        #expect(RootStatement.adopt([cByB], into: [a.publicJWK]).adopted.isEmpty)
        #expect(RootStatement.adopt([bByA], into: [a.publicJWK, b.publicJWK]).rejected.isEmpty)
    }

    @Test("this issue's codes 0xC0A70020–0xC0A7002F and events 12301–12303 are explained by tally explain and listed in the README")
    func codesAndEvents() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        for raw in UInt32(0xC0A7_0020)...UInt32(0xC0A7_002F) {
            let code = ResultCode(raw)
            let info = try #require(code.info, "\(code.hex) has no catalog entry")
            #expect(!info.remedy.isEmpty)
            #expect(readme.contains(code.hex), "README does not list \(code.hex)")
        }
        for (id, summary) in [(12301, "renewed"), (12302, "failed"), (12303, "acknowledged")] {
            let event = try #require(EventID(rawValue: id))
            #expect(event.summary.contains(summary))
            #expect(readme.contains(String(id)))
        }
    }

    @Test("a catalog's vendor.url must be https (http only for localhost); it is optional")
    func catalogVendorURL() throws {
        var catalog = Catalog.starter(vendorID: "acme", vendorName: "Acme")
        func problems(_ url: String?) throws -> [String] {
            catalog.vendor.url = url
            guard case let .failure(found) = Catalog.load(String(decoding: try TallyJSON.encode(catalog, pretty: true), as: UTF8.self)) else { return [] }
            return found.problems.map(\.path)
        }
        #expect(try problems(nil).isEmpty)
        #expect(try problems("https://activation.acme.example").isEmpty)
        #expect(try problems("http://activation.acme.example") == ["$.vendor.url"])
        #expect(try problems("http://localhost:8080").isEmpty)
    }
}
