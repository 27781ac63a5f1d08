import Foundation
import TallyCore

/// What the activation service hands back for one request, once its records are committed.
public enum HostDecision: Sendable {
    /// A decision to sign and send (status 200). Signing is left to the caller's thread.
    case answer(SignablePlan)
    /// An unsigned protocol error: HTTP status and `{code, message}`.
    case error(status: Int, ProtocolErrorBody)
}

/// A response (and maybe a ticket) ready to be signed with the host key.
public struct SignablePlan: Sendable {
    public var response: ResponseClaims
    public var ticket: TicketClaims?
    let signer: HostSigner

    /// Signs the ticket (when granted) and the response; returns the compact response token.
    public func sign() throws -> String {
        var response = response
        if let ticket {
            response.tkt = try JWS.sign(payloadJSON: ticket.jsonBytes, encodedHeader: signer.ticketHeader, key: signer.key.privateKey)
        }
        return try JWS.sign(payloadJSON: response.jsonBytes, encodedHeader: signer.responseHeader, key: signer.key.privateKey)
    }
}

/// The host key with the headers of its tickets and answers encoded once per certificate: they carry the whole
/// certificate, and encoding it per answer cost as much as a signature.
struct HostSigner: Sendable {
    let key: SigningKey
    let certificate: HostCertificate
    let ticketHeader: String
    let responseHeader: String

    init(key: SigningKey, certificate: HostCertificate) throws {
        self.key = key
        self.certificate = certificate
        ticketHeader = try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: certificate.claims.sub, hct: certificate.compact))
        responseHeader = try JWS.encodeHeader(JWSHeader(typ: .response, kid: certificate.claims.sub, hct: certificate.compact))
    }
}
