import Foundation
import TallyCore

extension TallyClient {
    /// The newest time a host signed among the tokens the state holds: each ticket's `iat` and the last answer's
    /// `htm`. This is the clock's floor (``ClockGuard/observe(_:hostSigned:tolerance:)``), read from the tokens at
    /// every load and never from a number in the state, so a file edited by hand cannot take the clock below it.
    ///
    /// Only the signatures are checked (vendor root → host certificate → token), not the CMID: any genuine host time
    /// is a time that has passed, and a token that could only raise the floor gives nobody anything. A token that
    /// does not verify is left out, and so is a time outside its host certificate's validity (beyond the clock
    /// tolerance): no host signs then, so such a time says its host's clock was wrong, and would hold this client
    /// where no certificate is valid.
    static func newestHostTime(in machine: ClientMachine, roots: TrustedRoots) -> Date? {
        var times: [Date] = machine.licenses.values.compactMap { license in
            license.ticket.flatMap { signedTime($0, certificate: license.certificate, type: .ticket, as: TicketClaims.self, roots: roots, \.iat) }
        }
        if let answer = machine.lastAnswer {
            // A protocol-2 grant is a ticket (its `iat` is the answer's host time); a refusal, or any version-1
            // answer, a response.
            let time = signedTime(answer, certificate: machine.lastAnswerCertificate, type: .response, as: ResponseClaims.self, roots: roots, \.htm)
                ?? signedTime(answer, certificate: machine.lastAnswerCertificate, type: .ticket, as: TicketClaims.self, roots: roots, \.iat)
            if let time { times.append(time) }
        }
        return times.max()
    }

    /// The time `claim` of a host-signed token whose host certificate a trusted root signed and whose certified
    /// host key signed it, when it lies within the certificate's validity; `nil` otherwise.
    ///
    /// The certificate is the token's own `hct` header (protocol 1), else the one kept beside it (protocol 2).
    private static func signedTime<Claims: Decodable>(_ compact: String, certificate: String?, type: TokenType, as _: Claims.Type,
                                                      roots: TrustedRoots, _ claim: KeyPath<Claims, NumericDate>) -> Date? {
        guard let parsed = try? JWS.parse(compact, expecting: type), let hct = parsed.header.hct ?? certificate,
              let certificate = try? HostCertificate.verifySignature(hct, roots: roots),
              parsed.header.kid == certificate.claims.sub,
              let hostKey = try? certificate.claims.cnf.jwk.publicKey(),
              (try? parsed.verify(with: hostKey)) != nil,
              let claims = try? parsed.decodePayload(Claims.self)
        else { return nil }
        let time = claims[keyPath: claim]
        guard time >= certificate.claims.nbf - NumericDate(Intervals.clockSkewTolerance), time < certificate.claims.exp else { return nil }
        return time.date
    }
}
