import Foundation
import NIOCore
import TallyCore

/// How a host reaches the vendor: which CAs it trusts for the vendor's TLS certificate, the proxy, timeouts.
public struct VendorConnectionSettings: Sendable {
    /// A PEM file of CA certificates trusted instead of the system's roots (`--vendor-ca FILE`).
    public var caFile: String?
    public var proxy: ProxySettings
    /// Longest wait for the TCP connection (to the vendor or the proxy).
    public var connectTimeout: TimeAmount
    /// Longest wait for the whole exchange after connecting: tunnel, TLS handshake, request and answer.
    public var requestTimeout: TimeAmount

    public init(caFile: String? = nil, proxy: ProxySettings = .direct, connectTimeout: TimeAmount = .seconds(10),
                requestTimeout: TimeAmount = .seconds(30)) {
        self.caFile = caFile
        self.proxy = proxy
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
    }

    /// The system's roots (or `caFile`) and the proxy from `HTTPS_PROXY`/`NO_PROXY`.
    public static func fromEnvironment(caFile: String? = nil) throws(TallyError) -> VendorConnectionSettings {
        VendorConnectionSettings(caFile: caFile, proxy: try .fromEnvironment())
    }

    /// Refuses a CA file that cannot be read or holds no PEM certificate, with the reason.
    public static func checkCAFile(_ path: String) throws(TallyError) {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TallyError(.usageError, "\(path) cannot be read", remedy: "Give a PEM file of the CA certificate(s) that issued the vendor's TLS certificate.")
        }
        do {
            _ = try VendorLink.clientContext(caFile: path)
        } catch {
            throw TallyError(.usageError, "\(path) is not a PEM file of CA certificates: \(error.message)",
                             remedy: "Give a PEM file of the CA certificate(s) that issued the vendor's TLS certificate (-----BEGIN CERTIFICATE----- blocks).")
        }
    }
}
