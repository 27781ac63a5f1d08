import Foundation
import TallyCore

/// What a host's HTTP 200 carried: a protocol-2 answer (one token, and the certificate unless the client named
/// the one it holds), or a protocol-1 response from an older host.
enum ReceivedAnswer: Sendable {
    case current(token: String, certificate: String?)
    case legacy(response: String)

    /// Reads an answer body; `nil` when it is neither format.
    init?(body: Data) {
        guard let decoded = try? JSONDecoder().decode(ActivationAnswerBody.self, from: body) else { return nil }
        if let token = decoded.token {
            self = .current(token: token, certificate: decoded.certificate)
        } else if let response = decoded.response {
            self = .legacy(response: response)
        } else {
            return nil
        }
    }

    /// The signed token: the answer, as the state keeps it.
    var token: String {
        switch self {
        case let .current(token, _): return token
        case let .legacy(response): return response
        }
    }

    /// The certificate the answer is verified with: the one sent, else the one the client held (and named by
    /// `hch`); a version-1 answer carries its own in every header.
    func certificate(held: String?) -> String? {
        switch self {
        case let .current(_, certificate): return certificate ?? held
        case .legacy: return nil
        }
    }

    /// Verifies the answer at `now` (see ``VerifiedResponse``).
    func verify(held: String?, roots: TrustedRoots, now: Date, nonce: String, cmid: String, fingerprint: String) throws(TokenError) -> VerifiedResponse {
        switch self {
        case let .current(token, certificate):
            return try VerifiedResponse.verify(token: token, certificate: certificate ?? held, roots: roots, now: now, nonce: nonce,
                                               cmid: cmid, fingerprint: fingerprint)
        case let .legacy(response):
            return try VerifiedResponse.verify(response, roots: roots, now: now, nonce: nonce, cmid: cmid, fingerprint: fingerprint)
        }
    }

    /// The ticket a grant carries: protocol 2's token itself, protocol 1's nested `tkt`.
    func ticket(of verified: VerifiedResponse) -> String? {
        guard verified.ticket != nil else { return nil }
        switch self {
        case let .current(token, _): return token
        case .legacy: return verified.claims.tkt
        }
    }

    /// The host time the answer claims, unverified: only used to verify the answer again at that time.
    var claimedHostTime: Date? {
        guard let parsed = try? JWS.parse(token, expectingOneOf: [.response, .ticket]) else { return nil }
        if parsed.header.typ == TokenType.ticket.rawValue {
            return (try? parsed.decodePayload(TicketClaims.self))?.htm?.date
        }
        return (try? parsed.decodePayload(ResponseClaims.self))?.htm.date
    }
}

extension TallyClient {
    /// The host certificate this machine holds for `sku`, named by `hch` in its requests: the one kept with its
    /// ticket, else the last answer's.
    static func heldCertificate(_ machine: ClientMachine, sku: String) -> String? {
        machine.licenses[sku]?.certificate ?? machine.lastAnswerCertificate
    }
}
