import Foundation
import TallyCore
import TallyStore

/// The admin port's routes. Plain values in, plain values out: tested without sockets.
///
/// Without a token every path answers 421 to a request whose `Host` is not a loopback name (DNS rebinding).
///
/// | path | who |
/// |---|---|
/// | `GET /health`, `GET /ready` | anyone who can connect (they say nothing about clients) |
/// | `GET /login`, `POST /login`, `POST /logout` | anyone; the login checks the token |
/// | `GET /`, `GET /api/status`, `GET /api/clients`, `GET /api/events`, `GET /metrics` | a bearer token or a session cookie when a token is configured |
public struct AdminRouter: Sendable {
    public let context: AdminContext

    public init(context: AdminContext) {
        self.context = context
    }

    public func handle(_ request: AdminRequest) async -> AdminResponse {
        // Two Host headers make the name the request is for ambiguous (RFC 9112 §3.2: answer 400), and a proxy in
        // front may have checked the other one.
        guard !request.repeatedHeaders.contains("host") else {
            return .error(400, "the request carries more than one Host header", code: .usageError)
        }
        // DNS rebinding: without a token, only requests addressed to a loopback name are answered.
        guard context.access.hostAllowed(request.headers["host"]) else {
            return .error(421, "without a token this admin interface answers only requests addressed to 127.0.0.1, [::1] or localhost (the Host header)",
                          code: .accessDenied)
        }
        do {
            return try await route(request)
        } catch let error as TallyError {
            return .error(error.code == .usageError ? 400 : 500, error.message, code: error.code)
        } catch {
            return .error(500, "\(error)", code: .storeUnavailable)
        }
    }

    private func route(_ request: AdminRequest) async throws -> AdminResponse {
        switch (request.method, request.path) {
        case ("GET", "/health"), ("HEAD", "/health"):
            return .json(["status": "ok"])
        case ("GET", "/ready"):
            return await ready()
        case ("GET", "/login"):
            return LoginPage.response(message: nil, status: 200)
        case ("POST", "/login"):
            if let refusal = throttled(request) { return refusal }
            return login(request)
        case ("POST", "/logout"):
            if let session = request.cookies[AdminSessions.cookieName] { context.access.sessions.end(session) }
            return .redirect("/login", extra: [("Set-Cookie", AdminSessions.expiredCookie)])
        default:
            break
        }
        let known = ["/", "/api/status", "/api/clients", "/api/events", "/metrics"]
        guard known.contains(request.path) else { return .error(404, "no such path on the admin port") }
        guard request.method == "GET" || request.method == "HEAD" else { return .error(405, "use GET for \(request.path)") }
        if request.headers["authorization"] != nil, let refusal = throttled(request) { return refusal }
        guard context.access.proof(for: request) != nil else {
            if request.headers["authorization"] != nil { failed(request) }
            if request.path == "/" { return LoginPage.response(message: nil, status: 401) }
            var response = AdminResponse.error(401, "this admin interface needs `Authorization: Bearer TOKEN` (the token file's content)",
                                               code: .accessDenied)
            response.headers.append(("WWW-Authenticate", "Bearer realm=\"tally\""))
            return response
        }
        switch request.path {
        case "/":
            return .html(try Dashboard.page(await DashboardData.read(context)), styleHash: DashboardStyle.hash)
        case "/api/status":
            return .json(try await context.status())
        case "/api/clients":
            return .json(try await context.clients(request))
        case "/api/events":
            return .json(try await context.events(request))
        default:
            let counts = try await context.counts()
            let expires = try? HostIdentity(directory: context.directory).status(now: context.clock.now()).certificateExpires
            let today = CountWindow.day(of: context.clock.now())
            let newMachines = try await context.store.newMachines(fromDay: today, toDay: today, busiest: NewMachinesDay.busiestBlocks).first
            return .text(context.metrics.exposition(counts: counts, certificateExpires: expires ?? nil, newMachines: newMachines,
                                                    storeRoundTrips: context.store.roundTrips),
                         contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    /// Ready when the store answers and the host holds a valid certificate (else every client gets C004F041).
    private func ready() async -> AdminResponse {
        var reasons: [String] = []
        do {
            _ = try await context.store.eventCount()
        } catch {
            reasons.append("the store does not answer: \(error)")
        }
        let identity = try? HostIdentity(directory: context.directory).status(now: context.clock.now())
        if identity?.activated != true {
            reasons.append(identity?.problem ?? "no valid host certificate: run `tally host activate`")
        }
        struct Ready: Encodable { var ready: Bool; var reasons: [String] }
        return .json(Ready(ready: reasons.isEmpty, reasons: reasons), status: reasons.isEmpty ? 200 : 503)
    }

    private func login(_ request: AdminRequest) -> AdminResponse {
        // A form posted from another site's page is refused (the cookie is SameSite=Strict anyway), and so is one
        // whose origin the browser hides (`Origin: null`: a sandboxed frame, a data: URL, a redirect across sites).
        if let origin = request.headers["origin"] {
            guard origin != "null", let host = request.headers["host"],
                  URL(string: origin).map({ ($0.host ?? "") + ($0.port.map { ":\($0)" } ?? "") }) == AdminRouter.hostWithoutBrackets(host)
            else {
                return .error(403, "the login form must be posted from this admin page", code: .accessDenied)
            }
        }
        guard context.access.requiresToken else { return .redirect("/") }
        let token = AdminRequest.form(String(decoding: request.body, as: UTF8.self))["token"] ?? ""
        guard context.access.tokenMatches(token) else {
            failed(request)
            return LoginPage.response(message: "That is not the token in the host's admin token file.", status: 401)
        }
        return .redirect("/", extra: [("Set-Cookie", AdminSessions.cookie(context.access.sessions.create()))])
    }

    /// 429 while the request's address is locked out after failed logins or tokens (``AuthFailureThrottle``).
    private func throttled(_ request: AdminRequest) -> AdminResponse? {
        guard context.access.requiresToken, let peer = request.peer,
              let until = context.access.failures.lockedUntil(AddressBlock(address: peer), now: context.clock.now()) else { return nil }
        let seconds = max(1, Int(until.timeIntervalSince(context.clock.now()).rounded(.up)))
        var response = AdminResponse.error(429, "too many failed logins or tokens from this address: wait \(seconds) s", code: .rateLimited)
        response.headers.append(("Retry-After", String(seconds)))
        return response
    }

    private func failed(_ request: AdminRequest) {
        guard let peer = request.peer else { return }
        context.access.failures.fail(AddressBlock(address: peer), now: context.clock.now())
    }

    static func hostWithoutBrackets(_ host: String) -> String {
        host.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
    }
}
