import Foundation
import NIOHTTP1
import TallyCore

/// One answer of the vendor service: a status and a JSON body.
struct VendorResponse: Sendable {
    var status: HTTPResponseStatus
    var body: [UInt8]
    /// Close the connection after answering.
    var close: Bool
    var allow: String?

    static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) -> VendorResponse {
        let data = (try? TallyJSON.encode(value)) ?? Data("{}".utf8)
        return VendorResponse(status: status, body: Array(data), close: false)
    }

    /// A JSON `{code, message}` error.
    static func error(_ status: HTTPResponseStatus, _ code: ResultCode, _ message: String, close: Bool = false, allow: String? = nil) -> VendorResponse {
        var response = json(ProtocolErrorBody(code: code, message: message), status: status)
        response.close = close
        response.allow = allow
        return response
    }

    /// The HTTP status a refusal is answered with, by its code.
    static func status(for code: ResultCode) -> HTTPResponseStatus {
        switch code {
        case .malformedRequest, .tokenRejected, .keyDoesNotMatch, .invalidKey: .badRequest
        case .keyBlocked, .unlockLimitReached, .renewalUnknownKeyPair: .forbidden
        case .reportRewritten, .reportChainBroken: .conflict
        case .vendorRateLimited: .tooManyRequests
        case .vendorLimitReached, .storeUnavailable: .serviceUnavailable
        default: .internalServerError
        }
    }

    func head(keepAlive: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.count))
        headers.add(name: "cache-control", value: "no-store")
        if let allow { headers.add(name: "allow", value: allow) }
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }
}
