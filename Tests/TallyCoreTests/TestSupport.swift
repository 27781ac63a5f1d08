import Crypto
import Foundation
import TallyCore
import Testing

/// A small seeded generator (SplitMix64) so every "random" sample in these tests is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fixed times: tests never read the wall clock.
enum Fixed {
    /// 2026-01-01T00:00:00Z.
    static let epoch = Date(timeIntervalSince1970: 1_767_225_600)
    static let day: TimeInterval = 86_400
    static let hour: TimeInterval = 3600
    static let minute: TimeInterval = 60

    static func days(_ n: Double) -> Date { epoch.addingTimeInterval(n * day) }
}

/// A deterministic Ed25519 key from a byte, so failures are reproducible.
func fixedPrivateKey(_ byte: UInt8) -> Curve25519.Signing.PrivateKey {
    try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: byte, count: 32))
}

/// A vendor, a host and the tokens between them, all at fixed times.
struct TokenFixture {
    let root: SigningKey
    let roots: TrustedRoots
    let hostKey: Curve25519.Signing.PrivateKey
    let hostID = "5b0e8c3e-6d2a-4d47-9a1e-1f7c0e2b9a11"
    let cmid = "0f8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
    let fingerprint = MachineFingerprint.compute(machineID: "machine-a", productUUID: "uuid-a")
    let issuedAt = Fixed.epoch
    let certificateClaims: HostCertificateClaims
    let certificateCompact: String
    let certificate: HostCertificate

    init(root: SigningKey = SigningKey(kid: "vendor-2026", privateKey: fixedPrivateKey(1)),
         hostKey: Curve25519.Signing.PrivateKey = fixedPrivateKey(2),
         validity: TimeInterval = Intervals.certificateValidity) {
        self.root = root
        roots = try! TrustedRoots([root.publicJWK])
        self.hostKey = hostKey
        certificateClaims = HostCertificateClaims(
            iss: "acme", sub: hostID, hostKey: JWK(publicKey: hostKey.publicKey),
            hkh: String(repeating: "ab", count: 32), grp: "studio-2026",
            skus: [CertifiedSKU(sku: "studio-pro", class: "client"), CertifiedSKU(sku: "studio-server", class: "server")],
            thr: ["client": 25, "server": 5], serial: 1, issuedAt: Fixed.epoch, validity: validity)
        certificateCompact = try! HostCertificate.issue(certificateClaims, root: root)
        certificate = try! HostCertificate.verify(certificateCompact, roots: roots, now: Fixed.epoch)
    }

    /// A ticket's claims for the fixture's machine, valid for 180 days from `issued`.
    func ticketClaims(issued: Date = Fixed.epoch, validity: TimeInterval = Intervals.activationValidity,
                      cmid: String? = nil, fingerprint: String? = nil, sku: String = "studio-pro") -> TicketClaims {
        TicketClaims(iss: hostID, sub: cmid ?? self.cmid, sku: sku, fpr: fingerprint ?? self.fingerprint, cnt: 25,
                     iat: issued, rnw: issued.addingTimeInterval(7 * Fixed.day),
                     exp: issued.addingTimeInterval(validity), jti: "jti-1")
    }

    func issueTicket(_ claims: TicketClaims) -> String {
        try! VerifiedTicket.issue(claims, hostKey: hostKey, certificate: certificate)
    }

    func responseClaims(res: ResultCode = .success, nonce: String = "nonce-1", ticket: String? = nil,
                        cmid: String? = nil, at: Date = Fixed.epoch) -> ResponseClaims {
        ResponseClaims(iss: hostID, sub: cmid ?? self.cmid, sku: "studio-pro", res: res, cur: 25, req: 25,
                       ai: 120, ri: 10_080, htm: at, nce: nonce, tkt: ticket)
    }
}

/// Builds a compact JWS by hand from raw JSON text, without the library's signer.
func handToken(header: String, payload: String, signedBy key: Curve25519.Signing.PrivateKey?) -> String {
    let input = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(payload.utf8))
    guard let key else { return input + "." }
    let signature = try! key.signature(for: Data(input.utf8))
    return input + "." + Base64URL.encode(signature)
}

/// The payload of a compact token, as JSON text.
func payloadText(of compact: String) -> String {
    let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
    return String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self)
}

/// The header of a compact token, as JSON text.
func headerText(of compact: String) -> String {
    let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
    return String(decoding: Base64URL.decode(parts[0])!, as: UTF8.self)
}

/// Runs `body` and returns the reason of the `TokenError` it throws, or `nil` when it does not throw.
/// Any other error is recorded as an issue.
func tokenRejection<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> TokenError.Reason? {
    do {
        _ = try body()
        return nil
    } catch let error as TokenError {
        return error.reason
    } catch {
        Issue.record("expected a TokenError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
