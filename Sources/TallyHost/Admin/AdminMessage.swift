import Foundation
import TallyCore

/// One request to the admin port, as the router sees it: no NIO types, so routes are tested without sockets.
public struct AdminRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Header names lower-cased; a repeated header keeps its last value.
    public var headers: [String: String]
    /// The (lower-cased) names of headers the request carried more than once.
    public var repeatedHeaders: Set<String> = []
    public var body: Data
    /// The address the request came from (without the port), when known.
    public var peer: String?

    public init(method: String, uri: String, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map(String.init) ?? uri
        query = parts.count > 1 ? AdminRequest.form(String(parts[1])) : [:]
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        self.body = body
    }

    /// A request from its header fields as they came, in order: a repeated field keeps its last value and is
    /// named in ``repeatedHeaders``.
    public init(method: String, uri: String, headerFields: [(String, String)], body: Data = Data()) {
        var headers: [String: String] = [:]
        var repeated: Set<String> = []
        for (name, value) in headerFields {
            let key = name.lowercased()
            if headers.updateValue(value, forKey: key) != nil { repeated.insert(key) }
        }
        self.init(method: method, uri: uri, headers: headers, body: body)
        repeatedHeaders = repeated
    }

    /// `a=1&b=two%20words` (query strings and `application/x-www-form-urlencoded` bodies).
    public static func form(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// The cookies the browser sent.
    public var cookies: [String: String] {
        var cookies: [String: String] = [:]
        for part in (headers["cookie"] ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            cookies[pair[0].trimmingCharacters(in: .whitespaces)] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        return cookies
    }
}

/// One answer from the admin port.
public struct AdminResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.last { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Headers every admin answer carries: nothing is cached, sniffed or framed.
    static let common: [(String, String)] = [
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]

    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> AdminResponse {
        let data = (try? TallyJSON.encode(value)) ?? Data("{}".utf8)
        return AdminResponse(status: status, headers: common + [("Content-Type", "application/json")], body: data)
    }

    public static func error(_ status: Int, _ message: String, code: ResultCode = .usageError) -> AdminResponse {
        json(ProtocolErrorBody(code: code, message: message), status: status)
    }

    /// A page with the strict Content-Security-Policy: nothing loads from anywhere, the one stylesheet is
    /// allowed by its hash, no script runs, no frame may hold the page, forms post only to this host.
    public static func html(_ page: String, status: Int = 200, styleHash: String, extra: [(String, String)] = []) -> AdminResponse {
        let policy = "default-src 'none'; style-src '\(styleHash)'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        return AdminResponse(status: status, headers: common + [("Content-Type", "text/html; charset=utf-8"),
                                                                ("Content-Security-Policy", policy)] + extra,
                             body: Data(page.utf8))
    }

    public static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> AdminResponse {
        AdminResponse(status: 200, headers: common + [("Content-Type", contentType)], body: Data(text.utf8))
    }

    public static func redirect(_ location: String, extra: [(String, String)] = []) -> AdminResponse {
        AdminResponse(status: 303, headers: common + [("Location", location)] + extra)
    }
}
