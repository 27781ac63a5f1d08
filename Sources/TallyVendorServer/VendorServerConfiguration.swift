import Foundation
import NIOCore
import TallyCore

/// How `tally vendor serve` listens and what it allows. Every field has a default.
public struct VendorServerConfiguration: Sendable {
    /// The TLS certificate chain and private key, as PEM files.
    public struct TLSFiles: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String

        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// `host` may be a name, an IPv4 or an IPv6 address; port 0 picks a free port.
    public var host: String
    public var port: Int
    /// `nil`: plain HTTP, allowed only on a loopback address, for a TLS-terminating proxy on the same machine.
    public var tls: TLSFiles?
    /// Validity of the certificates the service issues; at least the 180-day ticket.
    public var certificateValidity: TimeInterval
    public var maxConnections: Int
    /// A connection with no request for this long is closed (also one whose TLS handshake stalls).
    public var idleTimeout: TimeAmount
    /// A request must arrive whole (from its first header line) within this.
    public var readTimeout: TimeAmount
    /// Largest request body: a token of at most ``JWS/maximumLength`` in its JSON wrapper.
    public var maxBodyBytes: Int
    /// Requests per second one address may make on average, and how many at once above that.
    public var ratePerAddress: Double
    public var burstPerAddress: Int
    /// With plain HTTP on loopback, the client address is the last `X-Forwarded-For` entry the proxy added.
    public var trustForwardedFor: Bool

    public init(host: String = "0.0.0.0", port: Int = 8443, tls: TLSFiles? = nil,
                certificateValidity: TimeInterval = Intervals.onlineCertificateValidity, maxConnections: Int = 1024,
                idleTimeout: TimeAmount = .seconds(30), readTimeout: TimeAmount = .seconds(10), maxBodyBytes: Int = JWS.maximumLength + 1024,
                ratePerAddress: Double = 2, burstPerAddress: Int = 20, trustForwardedFor: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
        self.certificateValidity = certificateValidity
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
        self.maxBodyBytes = maxBodyBytes
        self.ratePerAddress = ratePerAddress
        self.burstPerAddress = burstPerAddress
        self.trustForwardedFor = trustForwardedFor
    }

    /// Whether `host` is this machine only.
    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host.lowercased()) }

    /// Refuses what must not run: plain HTTP beyond loopback, certificates shorter than a ticket.
    public func validate() throws(TallyError) {
        if tls == nil, !isLoopback {
            throw TallyError(.usageError, "plain HTTP is served only on loopback (127.0.0.1, ::1, localhost), not on \(host)",
                             remedy: "Give --tls-certificate FILE and --tls-key FILE, or listen on 127.0.0.1 behind a TLS-terminating proxy.")
        }
        if trustForwardedFor, tls != nil || !isLoopback {
            throw TallyError(.usageError, "X-Forwarded-For is trusted only from a proxy on loopback serving plain HTTP to the vendor")
        }
        guard certificateValidity >= Intervals.activationValidity else {
            throw TallyError(.usageError, "certificates must last at least \(Int(Intervals.activationValidity / 86_400)) days (a ticket's validity), not \(Int(certificateValidity / 86_400))")
        }
        guard maxConnections >= 1, maxBodyBytes >= 1024, ratePerAddress >= 0, burstPerAddress >= 1 else {
            throw TallyError(.usageError, "the connection limit, body cap and rate limit must be positive")
        }
    }
}
