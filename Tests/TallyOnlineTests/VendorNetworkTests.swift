import Foundation
import NIOCore
import Testing
import TallyCore
import TallyDNSTestSupport
import TallyHost
import TallyTestSupport
import TallyVendorLink
import TallyVendorServer

#if canImport(Glibc)
import Glibc
#endif

@Suite("Online vendor: proxies and a vendor that is down", .serialized)
struct VendorNetworkTests {
    @Test("through a CONNECT proxy from HTTPS_PROXY: the tunnel is opened to the vendor's name and TLS runs inside it")
    func throughProxy() async throws {
        try await withOnlineVendor { vendor in
            let proxy = try ConnectProxy()
            defer { proxy.stop() }
            var settings = vendor.settings
            settings.proxy = try ProxySettings.fromEnvironment(["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)"])
            let host = try vendor.host(try vendor.key())
            let result = try await vendor.online(host, settings: settings).activate(url: vendor.url)
            #expect(result.unlock == "newHost")
            #expect(proxy.requests == ["CONNECT localhost:\(vendor.server.port) HTTP/1.1"])
            // NO_PROXY names the vendor: the proxy sees nothing more.
            settings.proxy = try ProxySettings.fromEnvironment(["https_proxy": "127.0.0.1:\(proxy.port)", "NO_PROXY": "example.com, localhost"])
            _ = try await vendor.online(host, settings: settings).renew(url: nil)
            #expect(proxy.requests.count == 1)
        }
    }

    @Test("a proxy that refuses CONNECT, and a proxy that is not there, are 0xC0A70023 naming the proxy")
    func proxyFailures() async throws {
        try await withOnlineVendor { vendor in
            let host = try vendor.host(try vendor.key())
            let refusing = try ConnectProxy(refuse: true)
            defer { refusing.stop() }
            var settings = vendor.settings
            settings.proxy = ProxySettings(server: .init(host: "127.0.0.1", port: refusing.port))
            do {
                _ = try await vendor.online(host, settings: settings).activate(url: vendor.url)
                Issue.record("a refusing proxy let the activation through")
            } catch let error as TallyError {
                #expect(error.code == .proxyFailed)
                #expect(error.message.contains("403"), "\(error.message)")
            }
            let gone = LoopbackSockets.stalledTCP()
            close(gone.fd)
            settings.proxy = ProxySettings(server: .init(host: "127.0.0.1", port: Int(gone.port)))
            #expect(await errorCode { _ = try await vendor.online(host, settings: settings).activate(url: vendor.url) } == .proxyFailed)
            #expect(try host.certificate() == nil)
        }
    }

    @Test("a vendor that accepts and never answers is 0xC0A70021 after the request timeout; a closed port is 0xC0A70020")
    func vendorDown() async throws {
        let silent = LoopbackSockets.stalledTCP()
        defer { close(silent.fd) }
        let settings = VendorConnectionSettings(caFile: nil, proxy: .direct, connectTimeout: .seconds(5), requestTimeout: .milliseconds(300))
        do {
            try await VendorLink.health(at: VendorURL("https://localhost:\(silent.port)")!, settings: settings)
            Issue.record("a silent vendor answered")
        } catch {
            #expect(error.code == .vendorTimeout)
            #expect(error.message.contains("no whole answer within 0.3 s"), "\(error.message)")
        }
        let closed = LoopbackSockets.stalledTCP()
        close(closed.fd)
        do {
            try await VendorLink.health(at: VendorURL("https://127.0.0.1:\(closed.port)")!, settings: settings)
            Issue.record("a closed port answered")
        } catch {
            #expect(error.code == .vendorUnreachable)
            #expect(error.message.contains("127.0.0.1:\(closed.port)"))
        }
    }
}
