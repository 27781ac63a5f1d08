import Foundation
import TallyCore
import TallyStore

/// One activation request as the host's core takes it: decoded, validated, typed; no HTTP in it.
public struct ActivationRequest: Sendable {
    /// The request body as the client sent it (its nonce, protocol version and the certificate it holds).
    public var body: ActivationRequestBody
    /// What the store decides on and records.
    public var input: ActivationInput

    public init(body: ActivationRequestBody, policy: PolicyRequest, address: String) {
        self.body = body
        input = ActivationInput(request: policy, machine: body.machine, licenseStatus: body.licenseStatus,
                                minutesToExpiry: body.minutesToExpiry, vm: body.vm, address: address)
    }

    /// Decodes and validates a body; every failure is C0A70001 with a message naming the problem.
    public static func decode(_ data: Data, from address: String) throws(TallyError) -> ActivationRequest {
        let (body, policy) = try ActivationRequestBody.decode(data)
        return ActivationRequest(body: body, policy: policy, address: address)
    }
}

/// What the host's core answers to one request.
public enum RequestOutcome: Sendable {
    /// Decided and stored: an answer to sign (``AnswerSigner``), with the certificate it was decided under.
    case decided(DecidedRequest)
    /// Stored as a 12290 event (not counted), but nothing can be signed: the host holds no valid certificate.
    case notActivated
    /// Nothing was stored: the store failed or the host is stopping. The client retries later.
    case unavailable(TallyError)
}

/// A request with its stored decision and what signs its answer.
public struct DecidedRequest: Sendable {
    public var request: ActivationRequest
    public var stored: StoredDecision
    /// The host's certificate and key as they were when the request was decided.
    public var signer: AnswerSigner
}
