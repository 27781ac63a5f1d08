import Foundation
import TallyCore

extension TallyClient {
    /// The newest time a host signed among the tokens the state holds: each ticket's `iat` and the last answer's
    /// `htm`. This is the clock's floor (``ClockGuard/observe(_:hostSigned:tolerance:)``), read from the tokens at
    /// every load and never from a number in the state, so a file edited by hand cannot take the clock below it.
    ///
    /// Only the signatures are checked (vendor root → host certificate → token), not validity periods or the
    /// CMID: any genuine host time is a time that has passed, and a token that could only raise the floor gives
    /// nobody anything. A token that does not verify is left out.
    static func newestHostTime(in machine: ClientMachine, roots: TrustedRoots) -> Date? {
        var times: [Date] = machine.licenses.values.compactMap { license in
            license.ticket.flatMap { signedClaims($0, type: .ticket, as: TicketClaims.self, roots: roots)?.iat.date }
        }
        if let answer = machine.lastAnswer, let time = hostTime(ofAnswer: answer, roots: roots) { times.append(time) }
        return times.max()
    }

    /// The host time (`htm`) of a signed answer, when its signatures verify.
    static func hostTime(ofAnswer compact: String, roots: TrustedRoots) -> Date? {
        signedClaims(compact, type: .response, as: ResponseClaims.self, roots: roots)?.htm.date
    }

    /// Keeps `compact`, a verified answer, as the machine's last answer when its host time is not older than the
    /// one held.
    static func keep(answer compact: String, hostTime: Date, in machine: inout ClientMachine, roots: TrustedRoots) {
        if let held = machine.lastAnswer, let heldTime = Self.hostTime(ofAnswer: held, roots: roots), heldTime > hostTime { return }
        machine.lastAnswer = compact
    }

    /// The claims of a host-signed token whose host certificate a trusted root signed, and which the certified
    /// host key signed; `nil` otherwise.
    private static func signedClaims<Claims: Decodable>(_ compact: String, type: TokenType, as _: Claims.Type,
                                                        roots: TrustedRoots) -> Claims? {
        guard let parsed = try? JWS.parse(compact, expecting: type), let hct = parsed.header.hct,
              let certificate = try? HostCertificate.verifySignature(hct, roots: roots),
              parsed.header.kid == certificate.claims.sub,
              let hostKey = try? certificate.claims.cnf.jwk.publicKey(),
              (try? parsed.verify(with: hostKey)) != nil
        else { return nil }
        return try? parsed.decodePayload(Claims.self)
    }
}
