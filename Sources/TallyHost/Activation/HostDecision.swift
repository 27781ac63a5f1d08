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
    let certificate: HostCertificate
    let key: SigningKey

    /// Signs the ticket (when granted) and the response; returns the compact response token.
    public func sign() throws -> String {
        var response = response
        if let ticket {
            response.tkt = try VerifiedTicket.issue(ticket, hostKey: key.privateKey, certificate: certificate)
        }
        return try VerifiedResponse.issue(response, hostKey: key.privateKey, certificate: certificate)
    }
}
