import Crypto
import Foundation
import TallyCore
import Testing

@Suite("Base64URL and JWK")
struct EncodingTests {
    @Test("base64url round trips every length without padding")
    func base64URLRoundTrip() {
        var rng = SplitMix64(seed: 42)
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("="))
            #expect(!text.contains("+"))
            #expect(!text.contains("/"))
            #expect(Base64URL.decode(text) == Data(bytes))
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("-_8") == Data([0xFB, 0xFF]))
    }

    @Test("base64url refuses padding, standard alphabet and bad lengths", arguments: ["-_8=", "+/8", "a", "abcde", "ab cd", "ab.c"])
    func base64URLRejects(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("the RFC 8037 Ed25519 key has the RFC's thumbprint")
    func rfc8037Thumbprint() throws {
        // RFC 8037, appendix A.1–A.3.
        let secret = Data(hexString: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: secret)
        let jwk = JWK(publicKey: key.publicKey)
        #expect(jwk.kty == "OKP")
        #expect(jwk.crv == "Ed25519")
        #expect(jwk.x == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(jwk.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        #expect(try jwk.publicKey().rawRepresentation == key.publicKey.rawRepresentation)
    }

    @Test("the RFC 8037 example signature verifies over its signing input")
    func rfc8037Signature() throws {
        // RFC 8037, appendix A.4.
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")))
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
        let signature = try #require(Base64URL.decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"))
        #expect(publicKey.isValidSignature(signature, for: Data(input.utf8)))
        #expect(String(decoding: Base64URL.decode("RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")!, as: UTF8.self) == "Example of Ed25519 signing")
    }

    @Test("a JWK that is not an Ed25519 OKP key is refused")
    func jwkRejects() {
        let good = JWK(publicKey: fixedPrivateKey(3).publicKey, kid: "k")
        var wrongType = good
        wrongType.kty = "EC"
        #expect(tokenRejection { try wrongType.publicKey() } == .unsupportedKey)
        var wrongCurve = good
        wrongCurve.crv = "X25519"
        #expect(tokenRejection { try wrongCurve.publicKey() } == .unsupportedKey)
        var short = good
        short.x = Base64URL.encode(Data(repeating: 1, count: 31))
        #expect(tokenRejection { try short.publicKey() } == .unsupportedKey)
        var notBase64 = good
        notBase64.x = "!!!"
        #expect(tokenRejection { try notBase64.publicKey() } == .unsupportedKey)
    }

    @Test("trusted roots need a kid on every key")
    func trustedRootsNeedKid() {
        let key = fixedPrivateKey(4).publicKey
        #expect(tokenRejection { try TrustedRoots([JWK(publicKey: key)]) } == .unsupportedKey)
        #expect(tokenRejection { try TrustedRoots([JWK(publicKey: key, kid: "")]) } == .unsupportedKey)
        #expect(tokenRejection { try TrustedRoots([JWK(publicKey: key, kid: "a")]).key(for: "b") } == .unknownSigner)
        #expect(tokenRejection { try TrustedRoots([JWK(publicKey: key, kid: "a")]).key(for: "a") } == nil)
    }

    @Test("a signing key exports and imports its private JWK")
    func signingKeyExportImport() throws {
        let key = SigningKey(kid: "vendor-x", privateKey: fixedPrivateKey(5))
        let data = try key.exportPrivate()
        let back = try SigningKey.importPrivate(data)
        #expect(back.kid == "vendor-x")
        #expect(back.privateKey.rawRepresentation == key.privateKey.rawRepresentation)
        #expect(key.publicJWK.kid == "vendor-x")
        // A file whose x does not match d is refused.
        var text = String(decoding: data, as: UTF8.self)
        text = text.replacingOccurrences(of: key.publicJWK.x, with: JWK(publicKey: fixedPrivateKey(6).publicKey).x)
        #expect(throws: TallyError(.stateUnreadable, "")) { try SigningKey.importPrivate(Data(text.utf8)) }
        #expect(throws: TallyError(.stateUnreadable, "")) { try SigningKey.importPrivate(Data("{}".utf8)) }
    }

    @Test("a generated signing key's kid is its thumbprint, shortened, after the prefix")
    func generatedKid() {
        let key = SigningKey.generate(kidPrefix: "v1-")
        #expect(key.kid == "v1-" + key.publicJWK.thumbprint.prefix(16))
    }
}

@Suite("Tokens: round trips")
struct TokenRoundTripTests {
    let f = TokenFixture()

    @Test("a host certificate verifies and keeps its claims")
    func hostCertificateRoundTrip() throws {
        let certificate = try HostCertificate.verify(f.certificateCompact, roots: f.roots, now: Fixed.days(100))
        #expect(certificate.claims == f.certificateClaims)
        #expect(certificate.signer == "vendor-2026")
        #expect(certificate.hostKey.rawRepresentation == f.hostKey.publicKey.rawRepresentation)
        #expect(certificate.expires == Fixed.epoch.addingTimeInterval(Intervals.certificateValidity))
        #expect(certificate.claims.productClass(of: "studio-pro") == "client")
        #expect(certificate.claims.productClass(of: "studio-server") == "server")
        #expect(certificate.claims.productClass(of: "other") == nil)
        #expect(headerText(of: f.certificateCompact).contains(#""alg":"EdDSA""#))
        #expect(headerText(of: f.certificateCompact).contains(#""typ":"tally-host+jwt""#))
        #expect(headerText(of: f.certificateCompact).contains(#""kid":"vendor-2026""#))
        #expect(payloadText(of: f.certificateCompact).contains(#""ver":1"#))
    }

    @Test("a ticket verifies offline with its whole chain")
    func ticketRoundTrip() throws {
        let claims = f.ticketClaims()
        let compact = f.issueTicket(claims)
        let ticket = try VerifiedTicket.verify(compact, roots: f.roots, now: Fixed.days(10), cmid: f.cmid,
                                               fingerprint: f.fingerprint, sku: "studio-pro")
        #expect(ticket.claims == claims)
        #expect(ticket.compact == compact)
        #expect(ticket.certificate.claims.sub == f.hostID)
        #expect(headerText(of: compact).contains(#""typ":"tally-ticket+jwt""#))
        #expect(headerText(of: compact).contains(#""kid":"\#(f.hostID)""#))
        // The optional checks are optional.
        #expect(tokenRejection { try VerifiedTicket.verify(compact, roots: f.roots, now: Fixed.days(10)) } == nil)
    }

    @Test("a ticket is valid until just before its exp")
    func ticketExpiryBoundary() {
        let compact = f.issueTicket(f.ticketClaims())
        let exp = Fixed.epoch.addingTimeInterval(Intervals.activationValidity)
        #expect(tokenRejection { try VerifiedTicket.verify(compact, roots: f.roots, now: exp.addingTimeInterval(-1)) } == nil)
        #expect(tokenRejection { try VerifiedTicket.verify(compact, roots: f.roots, now: exp) } == .expired)
    }

    @Test("a granting response verifies with its ticket")
    func responseRoundTrip() throws {
        let ticket = f.issueTicket(f.ticketClaims())
        let claims = f.responseClaims(ticket: ticket)
        let compact = try VerifiedResponse.issue(claims, hostKey: f.hostKey, certificate: f.certificate)
        let response = try VerifiedResponse.verify(compact, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1",
                                                   cmid: f.cmid, fingerprint: f.fingerprint)
        #expect(response.claims == claims)
        #expect(response.claims.res == .success)
        #expect(response.ticket?.compact == ticket)
        #expect(response.certificate.claims.sub == f.hostID)
        #expect(headerText(of: compact).contains(#""typ":"tally-response+jwt""#))
    }

    @Test("a refusal is signed too and verifies without a ticket")
    func refusalRoundTrip() throws {
        var claims = f.responseClaims(res: .countTooLow)
        claims.cur = 3
        let compact = try VerifiedResponse.issue(claims, hostKey: f.hostKey, certificate: f.certificate)
        let response = try VerifiedResponse.verify(compact, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1",
                                                   cmid: f.cmid, fingerprint: f.fingerprint)
        #expect(response.claims.res == .countTooLow)
        #expect(response.claims.cur == 3)
        #expect(response.ticket == nil)
    }

    @Test("response intervals are clamped to 15 minutes .. 30 days when made")
    func responseIntervalsClamped() {
        let low = ResponseClaims(iss: "h", sub: "c", sku: "s", res: .success, cur: 1, req: 1, ai: 1, ri: -5,
                                 htm: Fixed.epoch, nce: "n", tkt: nil)
        #expect(low.ai == 15)
        #expect(low.ri == 15)
        let high = ResponseClaims(iss: "h", sub: "c", sku: "s", res: .success, cur: 1, req: 1, ai: 50_000, ri: 43_201,
                                  htm: Fixed.epoch, nce: "n", tkt: nil)
        #expect(high.ai == 43_200)
        #expect(high.ri == 43_200)
    }

    @Test("a usage report verifies, even after its certificate expired")
    func usageReportRoundTrip() throws {
        let claims = UsageReportClaims(
            iss: f.hostID, from: "2026-01-01", to: "2026-01-31",
            usage: [.init(day: "2026-01-01", sku: "studio-pro", class: "client", machines: 27),
                    .init(day: "2026-01-02", sku: "studio-server", class: "server", machines: 5)],
            seq: 3, prv: String(repeating: "0", count: 64), iat: Fixed.days(31))
        let compact = try VerifiedUsageReport.issue(claims, hostKey: f.hostKey, certificate: f.certificate)
        let report = try VerifiedUsageReport.verify(compact, roots: f.roots)
        #expect(report.claims == claims)
        #expect(report.compact == compact)
        #expect(VerifiedUsageReport.hash(compact).count == 64)
        #expect(VerifiedUsageReport.hash(compact) == sha256Hex(compact))
        #expect(headerText(of: compact).contains(#""typ":"tally-report+jwt""#))
    }

    @Test("a host activation request proves possession of its key")
    func hostRequestRoundTrip() throws {
        let hostKey = fixedPrivateKey(7)
        var rng = SplitMix64(seed: 3)
        let productKey = ProductKey.generate(.host, using: &rng).description
        let claims = HostActivationRequestClaims(hostId: f.hostID, hostKey: JWK(publicKey: hostKey.publicKey),
                                                 productKey: productKey, nonce: "n-1", issuedAt: Fixed.epoch)
        let compact = try VerifiedHostActivationRequest.issue(claims, hostKey: hostKey)
        let request = try VerifiedHostActivationRequest.verify(compact)
        #expect(request.claims == claims)
        #expect(request.publicKey.rawRepresentation == hostKey.publicKey.rawRepresentation)
        #expect(headerText(of: compact).contains(#""typ":"tally-host-request+jwt""#))
    }

    @Test("two trusted roots (a rotation) both verify their certificates")
    func rootRotation() throws {
        let oldRoot = SigningKey(kid: "vendor-2025", privateKey: fixedPrivateKey(10))
        let newRoot = SigningKey(kid: "vendor-2026", privateKey: fixedPrivateKey(11))
        let roots = try TrustedRoots([oldRoot.publicJWK, newRoot.publicJWK])
        let oldFixture = TokenFixture(root: oldRoot)
        let newFixture = TokenFixture(root: newRoot)
        let a = try HostCertificate.verify(oldFixture.certificateCompact, roots: roots, now: Fixed.days(1))
        let b = try HostCertificate.verify(newFixture.certificateCompact, roots: roots, now: Fixed.days(1))
        #expect(a.signer == "vendor-2025")
        #expect(b.signer == "vendor-2026")
        // A ticket under either root verifies with the pair.
        for fixture in [oldFixture, newFixture] {
            let ticket = fixture.issueTicket(fixture.ticketClaims())
            #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: roots, now: Fixed.days(2)) } == nil)
        }
        // Once the old root is dropped its certificates no longer verify.
        let onlyNew = try TrustedRoots([newRoot.publicJWK])
        #expect(tokenRejection { try HostCertificate.verify(oldFixture.certificateCompact, roots: onlyNew, now: Fixed.days(1)) } == .unknownSigner)
    }
}

@Suite("Tokens: rejections")
struct TokenRejectionTests {
    let f = TokenFixture()

    /// Replaces the payload of `compact` with `payload`, keeping header and signature.
    func withPayload(_ compact: String, _ payload: String) -> String {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        return String(parts[0]) + "." + Base64URL.encode(Data(payload.utf8)) + "." + String(parts[2])
    }

    @Test("a tampered certificate payload fails its signature")
    func tamperedCertificate() {
        let tampered = withPayload(f.certificateCompact, payloadText(of: f.certificateCompact)
            .replacingOccurrences(of: #""client":25"#, with: #""client":1"#))
        #expect(tampered != f.certificateCompact)
        #expect(tokenRejection { try HostCertificate.verify(tampered, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("a tampered ticket payload fails its signature")
    func tamperedTicket() {
        let compact = f.issueTicket(f.ticketClaims())
        let text = payloadText(of: compact)
        let exp = NumericDate(Fixed.epoch.addingTimeInterval(Intervals.activationValidity))
        let tampered = withPayload(compact, text.replacingOccurrences(of: #""exp":\#(exp)"#, with: #""exp":\#(exp + 86_400)"#))
        #expect(tampered != compact)
        #expect(tokenRejection { try VerifiedTicket.verify(tampered, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("a tampered response and a tampered report fail their signatures")
    func tamperedResponseAndReport() throws {
        let response = try VerifiedResponse.issue(f.responseClaims(res: .countTooLow), hostKey: f.hostKey, certificate: f.certificate)
        let forged = withPayload(response, payloadText(of: response).replacingOccurrences(of: #""ai":120"#, with: #""ai":43200"#))
        #expect(forged != response)
        #expect(tokenRejection {
            try VerifiedResponse.verify(forged, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .badSignature)

        let report = try VerifiedUsageReport.issue(
            UsageReportClaims(iss: f.hostID, from: "2026-01-01", to: "2026-01-01",
                              usage: [.init(day: "2026-01-01", sku: "studio-pro", class: "client", machines: 27)],
                              seq: 1, prv: "", iat: Fixed.days(1)),
            hostKey: f.hostKey, certificate: f.certificate)
        let lowered = withPayload(report, payloadText(of: report).replacingOccurrences(of: #""machines":27"#, with: #""machines":2"#))
        #expect(lowered != report)
        #expect(tokenRejection { try VerifiedUsageReport.verify(lowered, roots: f.roots) } == .badSignature)
    }

    @Test("a flipped signature byte fails")
    func flippedSignature() throws {
        var parts = f.certificateCompact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var signature = try #require(Base64URL.decode(parts[2]))
        signature[5] ^= 0x01
        parts[2] = Base64URL.encode(signature)
        #expect(tokenRejection { try HostCertificate.verify(parts.joined(separator: "."), roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("each token refuses another token's typ")
    func wrongType() throws {
        let ticket = f.issueTicket(f.ticketClaims())
        let response = try VerifiedResponse.issue(f.responseClaims(), hostKey: f.hostKey, certificate: f.certificate)
        // A ticket offered as a certificate, a certificate as a ticket, a ticket as a response, and so on.
        #expect(tokenRejection { try HostCertificate.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .wrongType)
        #expect(tokenRejection { try VerifiedTicket.verify(f.certificateCompact, roots: f.roots, now: Fixed.days(1)) } == .wrongType)
        #expect(tokenRejection { try VerifiedTicket.verify(response, roots: f.roots, now: Fixed.days(1)) } == .wrongType)
        #expect(tokenRejection {
            try VerifiedResponse.verify(ticket, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .wrongType)
        #expect(tokenRejection { try VerifiedUsageReport.verify(ticket, roots: f.roots) } == .wrongType)
        #expect(tokenRejection { try VerifiedHostActivationRequest.verify(f.certificateCompact) } == .wrongType)
        for type in TokenType.allCases where type != .hostCertificate {
            #expect(tokenRejection { try JWS.parse(f.certificateCompact, expecting: type) } == .wrongType)
        }
    }

    @Test("a ticket signed as a correctly typed JWS but with typ JWT is refused")
    func genericTyp() {
        let header = #"{"alg":"EdDSA","kid":"\#(f.root.kid)","typ":"JWT"}"#
        let token = handToken(header: header, payload: payloadText(of: f.certificateCompact), signedBy: f.root.privateKey)
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .wrongType)
    }

    @Test("alg none and HS256 are refused", arguments: ["none", "HS256", "RS256", "ES256", "eddsa", "Ed25519", ""])
    func unsupportedAlgorithm(_ alg: String) {
        let header = #"{"alg":"\#(alg)","kid":"\#(f.root.kid)","typ":"tally-host+jwt"}"#
        let payload = payloadText(of: f.certificateCompact)
        // Unsigned, as alg none would be.
        let unsigned = handToken(header: header, payload: payload, signedBy: nil)
        #expect(tokenRejection { try HostCertificate.verify(unsigned, roots: f.roots, now: Fixed.days(1)) } == .unsupportedAlgorithm)
        // Signed with the real root key, so only the alg is wrong.
        let signed = handToken(header: header, payload: payload, signedBy: f.root.privateKey)
        #expect(tokenRejection { try HostCertificate.verify(signed, roots: f.roots, now: Fixed.days(1)) } == .unsupportedAlgorithm)
    }

    @Test("an HS256 token MACed with the root's public key as secret is refused")
    func hs256KeyConfusion() {
        let header = #"{"alg":"HS256","kid":"\#(f.root.kid)","typ":"tally-host+jwt"}"#
        let input = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(payloadText(of: f.certificateCompact).utf8))
        let secret = SymmetricKey(data: f.root.privateKey.publicKey.rawRepresentation)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: secret)
        let token = input + "." + Base64URL.encode(Data(mac))
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .unsupportedAlgorithm)
    }

    @Test("a certificate from an unknown vendor root is refused as an unknown signer")
    func foreignRoot() throws {
        let foreign = TokenFixture(root: SigningKey(kid: "mallory", privateKey: fixedPrivateKey(66)))
        #expect(tokenRejection { try HostCertificate.verify(foreign.certificateCompact, roots: f.roots, now: Fixed.days(1)) } == .unknownSigner)
        // A ticket whose chain leads to that root is refused too.
        let ticket = foreign.issueTicket(foreign.ticketClaims())
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .unknownSigner)
    }

    @Test("a certificate whose kid names a trusted root but signed by another key fails its signature")
    func collidingKid() {
        let impostor = TokenFixture(root: SigningKey(kid: f.root.kid, privateKey: fixedPrivateKey(67)))
        #expect(tokenRejection { try HostCertificate.verify(impostor.certificateCompact, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
        let ticket = impostor.issueTicket(impostor.ticketClaims())
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("an expired certificate is refused, and so is a ticket under it")
    func expiredCertificate() {
        let short = TokenFixture(validity: 10 * Fixed.day)
        #expect(tokenRejection { try HostCertificate.verify(short.certificateCompact, roots: short.roots, now: Fixed.days(10) - 1) } == nil)
        #expect(tokenRejection { try HostCertificate.verify(short.certificateCompact, roots: short.roots, now: Fixed.days(10)) } == .expired)
        #expect(tokenRejection { try HostCertificate.verify(short.certificateCompact, roots: short.roots, now: Fixed.days(400)) } == .expired)
        let ticket = short.issueTicket(short.ticketClaims(validity: 5 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: short.roots, now: Fixed.days(4)) } == nil)
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: short.roots, now: Fixed.days(11)) } == .expired)
    }

    @Test("a certificate is not valid before nbf, except within the given skew")
    func notYetValid() {
        #expect(tokenRejection { try HostCertificate.verify(f.certificateCompact, roots: f.roots, now: Fixed.epoch - 1) } == .notYetValid)
        #expect(tokenRejection {
            try HostCertificate.verify(f.certificateCompact, roots: f.roots, now: Fixed.epoch - 3600, skew: Intervals.clockSkewTolerance)
        } == nil)
        #expect(tokenRejection {
            try HostCertificate.verify(f.certificateCompact, roots: f.roots, now: Fixed.epoch - 5 * 3600, skew: Intervals.clockSkewTolerance)
        } == .notYetValid)
    }

    @Test("a ticket that outlives its certificate is refused")
    func ticketOutlivesCertificate() {
        let short = TokenFixture(validity: 30 * Fixed.day)
        let ticket = short.issueTicket(short.ticketClaims(validity: 31 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: short.roots, now: Fixed.days(1)) } == .outlivesCertificate)
        // Exactly at the certificate's exp is allowed.
        let exact = short.issueTicket(short.ticketClaims(validity: 30 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(exact, roots: short.roots, now: Fixed.days(1)) } == nil)
    }

    @Test("a ticket valid for more than 180 days after its iat is refused, though the host key signed it and the certificate covers it")
    func ticketLifetime() {
        // A certificate of two years, so only the ticket's own lifetime can refuse it.
        let long = TokenFixture(validity: 730 * Fixed.day)
        let minted = long.issueTicket(long.ticketClaims(validity: 400 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(minted, roots: long.roots, now: Fixed.days(1)) } == .lifetimeTooLong)
        #expect(tokenRejection { try VerifiedTicket.verify(minted, roots: long.roots, now: Fixed.days(300)) } == .lifetimeTooLong)
        let oneSecondOver = long.issueTicket(long.ticketClaims(validity: 180 * Fixed.day + 1))
        #expect(tokenRejection { try VerifiedTicket.verify(oneSecondOver, roots: long.roots, now: Fixed.days(1)) } == .lifetimeTooLong)
        // Exactly 180 days is what a host issues.
        let exact = long.issueTicket(long.ticketClaims(validity: 180 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(exact, roots: long.roots, now: Fixed.days(1)) } == nil)
    }

    @Test("a ticket whose iat lies outside its certificate's validity is refused")
    func ticketIssuedOutsideCertificate() {
        let f = TokenFixture(validity: 365 * Fixed.day)
        // Issued before the certificate existed, expiring inside it.
        let early = f.issueTicket(f.ticketClaims(issued: Fixed.days(-10), validity: 20 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(early, roots: f.roots, now: Fixed.days(1)) } == .issuedOutsideCertificate)
        // Issued at the certificate's expiry (a ticket of no time), or after it.
        let atEnd = f.issueTicket(f.ticketClaims(issued: Fixed.days(365), validity: 0))
        #expect(tokenRejection { try VerifiedTicket.verify(atEnd, roots: f.roots, now: Fixed.days(1)) } == .issuedOutsideCertificate)
        let atStart = f.issueTicket(f.ticketClaims(issued: Fixed.epoch, validity: 10 * Fixed.day))
        #expect(tokenRejection { try VerifiedTicket.verify(atStart, roots: f.roots, now: Fixed.days(1)) } == nil)
    }

    @Test("a ticket for another CMID, fingerprint or SKU is refused")
    func ticketForAnotherMachine() {
        let ticket = f.issueTicket(f.ticketClaims())
        #expect(tokenRejection {
            try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1), cmid: "11111111-2222-3333-4444-555555555555")
        } == .wrongSubject)
        let other = MachineFingerprint.compute(machineID: "machine-a", productUUID: "uuid-b")
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1), cmid: f.cmid, fingerprint: other) } == .wrongFingerprint)
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1), sku: "studio-server") } == .wrongSKU)
    }

    @Test("a ticket for a SKU its certificate does not cover is refused")
    func ticketSKUNotInCertificate() {
        let ticket = f.issueTicket(f.ticketClaims(sku: "other-product"))
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .wrongSKU)
    }

    @Test("a ticket signed by another host under a valid certificate is refused")
    func ticketIssuerMismatch() throws {
        // Right certificate, but the ticket's iss names another host.
        var claims = f.ticketClaims()
        claims.iss = "another-host"
        let ticket = f.issueTicket(claims)
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .issuerMismatch)
        // Right certificate, but the header kid names another host.
        let header = JWSHeader(typ: .ticket, kid: "another-host", hct: f.certificateCompact)
        let token = try JWS.sign(f.ticketClaims(), header: header, key: f.hostKey)
        #expect(tokenRejection { try VerifiedTicket.verify(token, roots: f.roots, now: Fixed.days(1)) } == .issuerMismatch)
        // Right certificate, but signed by a key other than the certified one.
        let stolen = try VerifiedTicket.issue(f.ticketClaims(), hostKey: fixedPrivateKey(99), certificate: f.certificate)
        #expect(tokenRejection { try VerifiedTicket.verify(stolen, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("a ticket without a host certificate is refused")
    func ticketWithoutCertificate() throws {
        let token = try JWS.sign(f.ticketClaims(), header: JWSHeader(typ: .ticket, kid: f.hostID), key: f.hostKey)
        #expect(tokenRejection { try VerifiedTicket.verify(token, roots: f.roots, now: Fixed.days(1)) } == .missingCertificate)
    }

    @Test("a ticket of another version is refused: 2 with a certificate header, 3 either way")
    func ticketVersion() throws {
        for version in [2, 3] {
            var claims = f.ticketClaims()
            claims.ver = version
            let ticket = try JWS.sign(claims, header: JWSHeader(typ: .ticket, kid: f.hostID, hct: f.certificateCompact), key: f.hostKey)
            #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .unsupportedVersion)
        }
        var claims = f.ticketClaims()
        claims.ver = 3
        let bare = try JWS.sign(claims, header: JWSHeader(typ: .ticket, kid: f.hostID), key: f.hostKey)
        #expect(tokenRejection { try VerifiedTicket.verify(bare, certificate: f.certificateCompact, roots: f.roots, now: Fixed.days(1)) } == .unsupportedVersion)
    }

    @Test("an attacker key injected as a jwk header never verifies a certificate")
    func injectedJWKCertificate() {
        let attacker = fixedPrivateKey(0x66)
        let attackerJWK = JWK(publicKey: attacker.publicKey, kid: f.root.kid)
        let jwkJSON = String(decoding: try! TallyJSON.encode(attackerJWK), as: UTF8.self)
        let payload = payloadText(of: f.certificateCompact)
        // Claims the trusted kid, carries the attacker key, signed by the attacker.
        let claimingTrusted = handToken(
            header: #"{"alg":"EdDSA","jwk":\#(jwkJSON),"kid":"\#(f.root.kid)","typ":"tally-host+jwt"}"#,
            payload: payload, signedBy: attacker)
        #expect(tokenRejection { try HostCertificate.verify(claimingTrusted, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
        // Names the attacker key's own kid: unknown.
        let ownKid = handToken(
            header: #"{"alg":"EdDSA","jwk":\#(jwkJSON),"kid":"attacker","typ":"tally-host+jwt"}"#,
            payload: payload, signedBy: attacker)
        #expect(tokenRejection { try HostCertificate.verify(ownKid, roots: f.roots, now: Fixed.days(1)) } == .unknownSigner)
        // jku and x5u are ignored just the same.
        let remote = handToken(
            header: #"{"alg":"EdDSA","jku":"https://evil.example/jwks","kid":"\#(f.root.kid)","typ":"tally-host+jwt","x5u":"https://evil.example/c"}"#,
            payload: payload, signedBy: attacker)
        #expect(tokenRejection { try HostCertificate.verify(remote, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("an attacker key injected as a jwk header never verifies a ticket")
    func injectedJWKTicket() {
        let attacker = fixedPrivateKey(0x67)
        let jwkJSON = String(decoding: try! TallyJSON.encode(JWK(publicKey: attacker.publicKey, kid: f.hostID)), as: UTF8.self)
        let hct = f.certificateCompact
        let token = handToken(
            header: #"{"alg":"EdDSA","hct":"\#(hct)","jwk":\#(jwkJSON),"kid":"\#(f.hostID)","typ":"tally-ticket+jwt"}"#,
            payload: payloadText(of: f.issueTicket(f.ticketClaims())), signedBy: attacker)
        let reason = tokenRejection { try VerifiedTicket.verify(token, roots: f.roots, now: Fixed.days(1)) }
        #expect(reason == .badSignature)
        // Also inside a response.
        let response = handToken(
            header: #"{"alg":"EdDSA","hct":"\#(hct)","jwk":\#(jwkJSON),"kid":"\#(f.hostID)","typ":"tally-response+jwt"}"#,
            payload: String(decoding: try! TallyJSON.encode(f.responseClaims()), as: UTF8.self), signedBy: attacker)
        #expect(tokenRejection {
            try VerifiedResponse.verify(response, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .badSignature)
    }

    @Test("a certificate carrying an hct header is refused as a chain too long")
    func certificateChainTooLong() throws {
        // Signed by the genuine root: only the extra link is wrong.
        let header = JWSHeader(typ: .hostCertificate, kid: f.root.kid, hct: f.certificateCompact)
        let token = try JWS.sign(f.certificateClaims, header: header, key: f.root.privateKey)
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .chainTooLong)
        // A ticket whose hct is such a certificate is refused too.
        let ticketHeader = JWSHeader(typ: .ticket, kid: f.hostID, hct: token)
        let ticket = try JWS.sign(f.ticketClaims(), header: ticketHeader, key: f.hostKey)
        #expect(tokenRejection { try VerifiedTicket.verify(ticket, roots: f.roots, now: Fixed.days(1)) } == .chainTooLong)
    }

    @Test("a ticket whose hct is a ticket (a third link) is refused")
    func ticketAsCertificate() throws {
        let inner = f.issueTicket(f.ticketClaims())
        let header = JWSHeader(typ: .ticket, kid: f.hostID, hct: inner)
        let token = try JWS.sign(f.ticketClaims(), header: header, key: f.hostKey)
        #expect(tokenRejection { try VerifiedTicket.verify(token, roots: f.roots, now: Fixed.days(1)) } == .wrongType)
    }

    @Test("a crit header is refused")
    func criticalHeader() {
        let token = handToken(header: #"{"alg":"EdDSA","crit":["exp"],"kid":"\#(f.root.kid)","typ":"tally-host+jwt"}"#,
                              payload: payloadText(of: f.certificateCompact), signedBy: f.root.privateKey)
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .criticalHeader)
    }

    @Test("malformed tokens are refused as malformed")
    func malformed() {
        let good = f.certificateCompact
        let parts = good.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let cases = [
            "",
            "abc",
            parts[0] + "." + parts[1],
            good + ".extra",
            parts[0] + ".!!!." + parts[2],
            parts[0] + "=." + parts[1] + "." + parts[2],
            Base64URL.encode(Data("not json".utf8)) + "." + parts[1] + "." + parts[2],
            Base64URL.encode(Data(#"{"alg":"EdDSA"}"#.utf8)) + "." + parts[1] + "." + parts[2],
            String(repeating: "a", count: JWS.maximumLength + 1),
        ]
        for token in cases {
            #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .malformed,
                    "\(token.prefix(40)) was not refused as malformed")
        }
    }

    @Test("a signature that is not 64 bytes is refused")
    func shortSignature() {
        let parts = f.certificateCompact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let token = parts[0] + "." + parts[1] + "." + Base64URL.encode(Data(repeating: 0, count: 63))
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
        let empty = parts[0] + "." + parts[1] + "."
        #expect(tokenRejection { try HostCertificate.verify(empty, roots: f.roots, now: Fixed.days(1)) } == .badSignature)
    }

    @Test("a signed payload that is not the expected claims is refused as malformed")
    func wrongPayloadShape() {
        let token = handToken(header: #"{"alg":"EdDSA","kid":"\#(f.root.kid)","typ":"tally-host+jwt"}"#,
                              payload: #"{"ver":1}"#, signedBy: f.root.privateKey)
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .malformed)
    }

    @Test("a certificate of another version is refused")
    func certificateVersion() throws {
        var claims = f.certificateClaims
        claims.ver = 2
        let token = try HostCertificate.issue(claims, root: f.root)
        #expect(tokenRejection { try HostCertificate.verify(token, roots: f.roots, now: Fixed.days(1)) } == .unsupportedVersion)
    }

    @Test("a response with the wrong nonce is refused as a replay")
    func responseNonceMismatch() throws {
        let compact = try VerifiedResponse.issue(f.responseClaims(nonce: "old-nonce"), hostKey: f.hostKey, certificate: f.certificate)
        #expect(tokenRejection {
            try VerifiedResponse.verify(compact, roots: f.roots, now: Fixed.epoch, nonce: "new-nonce", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .nonceMismatch)
        let error = TokenError(.nonceMismatch, "x").tallyError("the answer")
        #expect(error.code == .answerRejected)
        #expect(TokenError(.badSignature, "x").tallyError("the answer").code == .tokenRejected)
    }

    @Test("a response for another CMID, or whose ticket is for another machine, is refused")
    func responseForAnotherMachine() throws {
        let compact = try VerifiedResponse.issue(f.responseClaims(), hostKey: f.hostKey, certificate: f.certificate)
        #expect(tokenRejection {
            try VerifiedResponse.verify(compact, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1",
                                        cmid: "11111111-2222-3333-4444-555555555555", fingerprint: f.fingerprint)
        } == .wrongSubject)
        let ticket = f.issueTicket(f.ticketClaims(fingerprint: "another-fingerprint"))
        let granting = try VerifiedResponse.issue(f.responseClaims(ticket: ticket), hostKey: f.hostKey, certificate: f.certificate)
        #expect(tokenRejection {
            try VerifiedResponse.verify(granting, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .wrongFingerprint)
    }

    @Test("a response signed by another host than its certificate names is refused")
    func responseWrongSigner() throws {
        let forged = try VerifiedResponse.issue(f.responseClaims(), hostKey: fixedPrivateKey(98), certificate: f.certificate)
        #expect(tokenRejection {
            try VerifiedResponse.verify(forged, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .badSignature)
        let noCertificate = try JWS.sign(f.responseClaims(), header: JWSHeader(typ: .response, kid: f.hostID), key: f.hostKey)
        #expect(tokenRejection {
            try VerifiedResponse.verify(noCertificate, roots: f.roots, now: Fixed.epoch, nonce: "nonce-1", cmid: f.cmid, fingerprint: f.fingerprint)
        } == .missingCertificate)
    }

    @Test("a report's issuer must be the certificate's host")
    func reportIssuerMismatch() throws {
        let claims = UsageReportClaims(iss: "another-host", from: "2026-01-01", to: "2026-01-01", usage: [], seq: 1, prv: "", iat: Fixed.days(1))
        let compact = try VerifiedUsageReport.issue(claims, hostKey: f.hostKey, certificate: f.certificate)
        #expect(tokenRejection { try VerifiedUsageReport.verify(compact, roots: f.roots) } == .issuerMismatch)
    }

    @Test("a report dated outside its certificate's validity is refused")
    func reportOutsideCertificate() throws {
        let claims = UsageReportClaims(iss: f.hostID, from: "2027-06-01", to: "2027-06-01", usage: [], seq: 1, prv: "", iat: Fixed.days(500))
        let compact = try VerifiedUsageReport.issue(claims, hostKey: f.hostKey, certificate: f.certificate)
        #expect(tokenRejection { try VerifiedUsageReport.verify(compact, roots: f.roots) } == .expired)
    }

    @Test("a host request signed by a key other than the one it carries is refused")
    func hostRequestWithoutPossession() throws {
        let carried = fixedPrivateKey(20)
        let signer = fixedPrivateKey(21)
        let claims = HostActivationRequestClaims(hostId: f.hostID, hostKey: JWK(publicKey: carried.publicKey),
                                                 productKey: "H", nonce: "n", issuedAt: Fixed.epoch)
        let compact = try VerifiedHostActivationRequest.issue(claims, hostKey: signer)
        #expect(tokenRejection { try VerifiedHostActivationRequest.verify(compact) } == .badSignature)
        let wrongKid = try JWS.sign(claims, header: JWSHeader(typ: .hostRequest, kid: "other"), key: carried)
        #expect(tokenRejection { try VerifiedHostActivationRequest.verify(wrongKid) } == .issuerMismatch)
    }
}

extension Data {
    init(hexString: String) {
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            bytes.append(UInt8(hexString[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}

@Suite("Hand-written token JSON")
struct HandWrittenJSONTests {
    @Test("ticket and response claims written by hand decode to the same values as JSONEncoder's, with hostile strings")
    func sameAsEncoder() throws {
        let odd = "quote\" back\\slash \n\r\t \u{01} \u{1F} é 𝄞 </script>"
        let ticket = TicketClaims(iss: odd, sub: "cmid", sku: odd, fpr: "f", cnt: 25, iat: Date(timeIntervalSince1970: 1_800_000_000),
                                  rnw: Date(timeIntervalSince1970: 1_800_600_000), exp: Date(timeIntervalSince1970: 1_815_000_000), jti: odd)
        #expect(try TallyJSON.decode(TicketClaims.self, from: Data(ticket.jsonBytes)) == ticket)
        // Keys sorted exactly as TallyJSON sorts them.
        #expect(String(decoding: ticket.jsonBytes, as: UTF8.self) == String(decoding: try TallyJSON.encode(ticket), as: UTF8.self))
        for tkt in [nil, "a.b.c"] as [String?] {
            let response = ResponseClaims(iss: "h", sub: odd, sku: "s", res: .countTooLow, cur: 3, req: 25, ai: 120, ri: 10_080,
                                          htm: Date(timeIntervalSince1970: 1_800_000_000), nce: "n", tkt: tkt)
            #expect(try TallyJSON.decode(ResponseClaims.self, from: Data(response.jsonBytes)) == response)
            #expect(String(decoding: response.jsonBytes, as: UTF8.self) == String(decoding: try TallyJSON.encode(response), as: UTF8.self))
        }
        let fields = ["machine": odd, "a": "1", "z": ""]
        #expect(try JSONDecoder().decode([String: String].self, from: Data(JSONObjectWriter.object(fields))) == fields)
    }
}

@Suite("Hostile dates and report fields")
struct HostileDateTests {
    @Test("NumericDate clamps dates beyond Int64 instead of trapping")
    func clamp() {
        #expect(NumericDate(Date(timeIntervalSince1970: Double(Int64.max))) > 0)
        #expect(NumericDate(Date(timeIntervalSince1970: -Double(Int64.max))) < 0)
        #expect(NumericDate(Date(timeIntervalSince1970: .nan)) == 0)
        #expect(NumericDate(Date(timeIntervalSince1970: 1_800_000_000.9)) == 1_800_000_000)
    }

    @Test("a report with a genuine certificate, a huge iat and a bad signature is refused, not a crash")
    func hostileReport() throws {
        let vendor = SigningKey.generate(kidPrefix: "vendor-")
        let host = SigningKey.generate(kidPrefix: "host-")
        let claims = HostCertificateClaims(iss: "v", sub: "h", hostKey: host.publicJWK, hkh: "x", grp: "g",
                                           skus: [CertifiedSKU(sku: "s", class: "client")], thr: ["client": 25], serial: 1,
                                           issuedAt: Date(timeIntervalSince1970: 1_800_000_000), validity: 86_400)
        let certificate = try HostCertificate.issue(claims, root: vendor)
        let header = try JWS.encodeHeader(JWSHeader(typ: .report, kid: "h", hct: certificate))
        let payload = Base64URL.encode(Data(#"{"ver":1,"iss":"h","from":"a","to":"b","usage":[],"seq":1,"prv":"","iat":9223372036854775807}"#.utf8))
        let token = header + "." + payload + "." + Base64URL.encode(Data(repeating: 7, count: 64))
        #expect(throws: TokenError(.badSignature, "")) { try VerifiedUsageReport.verify(token, roots: TrustedRoots([vendor.publicJWK])) }
    }
}
