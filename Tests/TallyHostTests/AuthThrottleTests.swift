import Foundation
import Testing
import TallyCore
import TallyHost
import TallyTestSupport

@Suite("Admin interface: failed logins and tokens throttled per address", .serialized)
struct AuthThrottleTests {
    @Test("the rule: 10 failures within a minute lock the address out for 60 s; older failures fall out of the window; IPv6 per /64")
    func rule() {
        var throttle = AuthFailureThrottle()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let guesser = AddressBlock(address: "2001:db8:5:5::1")
        for second in 0..<9 { #expect(throttle.fail(guesser, now: start.addingTimeInterval(Double(second))) == nil) }
        #expect(throttle.lockedUntil(guesser, now: start.addingTimeInterval(9)) == nil)
        // The tenth, from another address in the same /64, starts the lockout.
        let tenth = start.addingTimeInterval(9)
        #expect(throttle.fail(AddressBlock(address: "2001:db8:5:5::99"), now: tenth) == tenth.addingTimeInterval(60))
        #expect(throttle.lockedUntil(guesser, now: tenth.addingTimeInterval(59)) == tenth.addingTimeInterval(60))
        #expect(throttle.lockedUntil(guesser, now: tenth.addingTimeInterval(60)) == nil)
        // Another address is not locked out.
        #expect(throttle.lockedUntil(AddressBlock(address: "2001:db8:5:6::1"), now: tenth) == nil)
        // Nine failures, a pause past the window, one more: no lockout.
        var slow = AuthFailureThrottle()
        for second in 0..<9 { slow.fail(guesser, now: start.addingTimeInterval(Double(second))) }
        #expect(slow.fail(guesser, now: start.addingTimeInterval(61)) == nil)
        #expect(slow.lockedUntil(guesser, now: start.addingTimeInterval(61)) == nil)
    }

    static func get(_ port: Int, token: String, source: String) throws -> RawHTTPConnection.Response {
        let connection = try RawHTTPConnection(port: port, source: source)
        try connection.send("GET /api/status HTTP/1.1\r\nHost: admin.example\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
        return try connection.readResponse()
    }

    static func login(_ port: Int, token: String, source: String) throws -> RawHTTPConnection.Response {
        let connection = try RawHTTPConnection(port: port, source: source)
        let body = "token=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)
        try connection.send("POST /login HTTP/1.1\r\nHost: admin.example\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        return try connection.readResponse()
    }

    @Test("guessing the token over the wire: after 10 wrong logins and bearer tokens the address gets 429 for 60 s, even with the right token; another address is served; after 60 s of host time it works again")
    func live() async throws {
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let host = try await LiveHost(fixture: fixture, adminListen: "0.0.0.0:0")
        defer { Task { await host.stop() } }
        let port = host.adminPort
        let guesser = "127.0.0.5"
        var statuses: [Int] = []
        for guess in 0..<10 {
            let wrong = "guess-\(guess)-" + String(repeating: "x", count: 30)
            statuses.append(guess.isMultiple(of: 2) ? try Self.login(port, token: wrong, source: guesser).status : try Self.get(port, token: wrong, source: guesser).status)
        }
        #expect(statuses == Array(repeating: 401, count: 10))
        let locked = try Self.get(port, token: token, source: guesser)
        #expect(locked.status == 429)
        #expect(locked.headers["retry-after"] == "60")
        #expect(try locked.json()["code"] as? String == "0xC0A7000B")
        #expect(try Self.login(port, token: token, source: guesser).status == 429)
        // Another address is not affected.
        #expect(try Self.get(port, token: token, source: "127.0.0.6").status == 200)
        // Host time, not a sleep: 60 s on, the right token works from the guesser's address again.
        host.clock.advance(by: 59)
        #expect(try Self.get(port, token: token, source: guesser).status == 429)
        host.clock.advance(by: 1)
        #expect(try Self.get(port, token: token, source: guesser).status == 200)
    }
}
