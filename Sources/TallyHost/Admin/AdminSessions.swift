import Foundation
import NIOConcurrencyHelpers
import TallyCore

/// Browser sessions after a login: random ids (never the token) that expire, kept in memory only, so a
/// restart logs everyone out.
public final class AdminSessions: Sendable {
    public static let cookieName = "tally_session"
    public static let lifetime: TimeInterval = 12 * 3600
    static let maximum = 1000

    private let clock: HostClock
    private let sessions = NIOLockedValueBox<[String: Date]>([:])

    public init(clock: HostClock) {
        self.clock = clock
    }

    /// A new session: 32 random bytes from the system's secure generator.
    public func create() -> String {
        var generator = SystemRandomNumberGenerator()
        let id = Base64URL.encode(Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        let now = clock.now()
        sessions.withLockedValue { sessions in
            sessions = sessions.filter { $0.value > now }
            if sessions.count >= AdminSessions.maximum, let oldest = sessions.min(by: { $0.value < $1.value })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = now.addingTimeInterval(AdminSessions.lifetime)
        }
        return id
    }

    public func isValid(_ id: String) -> Bool {
        let now = clock.now()
        return sessions.withLockedValue { sessions in
            guard let expires = sessions[id] else { return false }
            if expires <= now {
                sessions[id] = nil
                return false
            }
            return true
        }
    }

    public func end(_ id: String) {
        _ = sessions.withLockedValue { $0.removeValue(forKey: id) }
    }

    /// Ends every session (the token changed: whoever logged in with the old one is logged out).
    public func endAll() {
        sessions.withLockedValue { $0.removeAll() }
    }

    /// The `Set-Cookie` value for a session: HttpOnly (no script reads it), SameSite=Strict (no other site's
    /// page sends it), whole host.
    static func cookie(_ id: String) -> String {
        "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(lifetime))"
    }

    static let expiredCookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
}
