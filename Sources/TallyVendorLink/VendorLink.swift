import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TallyCore

/// A host's calls to the vendor's online service: one HTTPS request each, through a `CONNECT` proxy when one
/// applies, the vendor's certificate checked against the system's roots or a pinned CA and against the URL's host.
///
/// Every failure is a ``TallyError`` whose code says where it failed: 0xC0A70020 unreachable, 0xC0A70021 no
/// answer in time, 0xC0A70022 TLS certificate refused, 0xC0A70023 proxy, 0xC0A70024 not a Tally answer; a refusal
/// by the vendor carries the vendor's own code (C004C008, C004C003, C004F050, …).
public enum VendorLink {
    /// `POST /v1/host/activate`: the same request as the offline file.
    public static func activate(request: String, at url: VendorURL, settings: VendorConnectionSettings) async throws(TallyError) -> VendorCertificateAnswer {
        try await post(VendorPaths.activate, VendorRequestBody(request: request), at: url, settings: settings)
    }

    /// `POST /v1/host/renew`: a renewal request signed by the host's key pair.
    public static func renew(request: String, at url: VendorURL, settings: VendorConnectionSettings) async throws(TallyError) -> VendorCertificateAnswer {
        try await post(VendorPaths.renew, VendorRequestBody(request: request), at: url, settings: settings)
    }

    /// `POST /v1/host/report`: a usage report, answered with the vendor's receipt.
    public static func submit(report: String, at url: VendorURL, settings: VendorConnectionSettings) async throws(TallyError) -> VendorReceiptAnswer {
        try await post(VendorPaths.report, VendorReportBody(report: report), at: url, settings: settings)
    }

    /// `GET /health`.
    public static func health(at url: VendorURL, settings: VendorConnectionSettings) async throws(TallyError) {
        let response = try await exchange(method: .GET, path: url.path(VendorPaths.health), body: [], at: url, settings: settings)
        guard response.status == 200 else { throw answerError(response, url: url) }
    }

    static func post<Body: Encodable, Answer: Decodable>(_ endpoint: String, _ body: Body, at url: VendorURL,
                                                         settings: VendorConnectionSettings) async throws(TallyError) -> Answer {
        let bytes: [UInt8]
        do {
            bytes = Array(try TallyJSON.encode(body))
        } catch {
            throw TallyError(.usageError, "could not encode the request: \(error)")
        }
        let response = try await exchange(method: .POST, path: url.path(endpoint), body: bytes, at: url, settings: settings)
        guard response.status == 200 else { throw answerError(response, url: url) }
        do {
            return try TallyJSON.decode(Answer.self, from: Data(response.body))
        } catch {
            throw TallyError(.vendorAnswerInvalid, "\(url) answered \(endpoint) with a body that is not a \(Answer.self)")
        }
    }

    /// The vendor's `{code, message}` as an error; anything else as 0xC0A70024.
    static func answerError(_ response: VendorHTTPResponse, url: VendorURL) -> TallyError {
        if let refusal = try? TallyJSON.decode(ProtocolErrorBody.self, from: Data(response.body)), refusal.code.info != nil {
            return TallyError(refusal.code, "the vendor refused: \(Sanitize.terminal(refusal.message, keepingLineBreaks: false))")
        }
        return TallyError(.vendorAnswerInvalid, "\(url) answered HTTP \(response.status) without a Tally error body (is this the vendor's Tally service?)")
    }
}
