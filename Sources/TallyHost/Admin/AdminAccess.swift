import Crypto
import Foundation
import TallyCore
import TallyFiles

#if canImport(Glibc)
import Glibc
#endif

/// Who may use the admin port.
///
/// Without a token file the admin port must listen on `127.0.0.1`, `::1` or `localhost` and everyone who can
/// connect there may read it. Any other address, including the rest of 127.0.0.0/8 (which other network
/// namespaces, containers and port forwards reach more easily than it seems), needs a token file. With a token
/// the API wants `Authorization: Bearer TOKEN` and the browser a session cookie from the login form.
public struct AdminAccess: Sendable {
    /// The token; `nil` when the port is open (loopback without a token file).
    let token: String?
    let sessions: AdminSessions

    public var requiresToken: Bool { token != nil }

    public init(token: String?, sessions: AdminSessions) {
        self.token = token
        self.sessions = sessions
    }

    /// Whether an address only ever accepts connections from this machine's own loopback address.
    public static func isLocalOnly(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return bare == "127.0.0.1" || bare == "::1" || bare.lowercased() == "localhost"
    }

    /// The rule, applied before anything listens: a token file is read (and must be private), and a
    /// non-loopback address without one is refused.
    public static func load(address: BindAddress, tokenFile: String?, directory: StateDirectory, clock: HostClock) throws -> AdminAccess {
        let sessions = AdminSessions(clock: clock)
        guard let tokenFile else {
            guard isLocalOnly(address.host) else {
                throw TallyError(.accessDenied, "the admin interface may listen on \(address) only with a token file",
                                 remedy: "Make a token and point the host at it: `head -c 32 /dev/urandom | base64 > admin-token; chmod 600 admin-token; "
                                     + "tally host set admin-token-file $PWD/admin-token`, or keep the admin interface on 127.0.0.1:1689 "
                                     + "(`tally host set admin-listen 127.0.0.1:1689`).")
            }
            return AdminAccess(token: nil, sessions: sessions)
        }
        let path = tokenFile.hasPrefix("/") ? tokenFile : directory.file(tokenFile).path
        return AdminAccess(token: try readToken(path), sessions: sessions)
    }

    /// Reads a token file: private to its owner (as ssh wants of private keys), at least 16 characters.
    public static func readToken(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TallyError(.notInstalled, "the admin token file \(path) does not exist",
                             remedy: "Create it (`head -c 32 /dev/urandom | base64 > \(path); chmod 600 \(path)`) or `tally host set admin-token-file none`.")
        }
        if info.st_mode & 0o077 != 0 {
            throw TallyError(.accessDenied, "the admin token file \(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             remedy: "Run `chmod 600 \(path)`; if others could read it, make a new token.")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TallyError(.stateUnreadable, "could not read the admin token file \(path): \(error.localizedDescription)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16, !token.contains(where: { $0.isWhitespace }) else {
            throw TallyError(.usageError, "the admin token in \(path) must be one word of at least 16 characters",
                             remedy: "Write a random one: `head -c 32 /dev/urandom | base64 > \(path)`.")
        }
        return token
    }

    /// Compares a presented token with the real one in time that does not depend on where they differ:
    /// both are hashed first, so not even the length leaks.
    public func tokenMatches(_ candidate: String) -> Bool {
        guard let token else { return false }
        return AdminAccess.constantTimeEqual(Data(SHA256.hash(data: Data(token.utf8))), Data(SHA256.hash(data: Data(candidate.utf8))))
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// How a request proved itself, if it did.
    public enum Proof: Equatable, Sendable {
        case open, bearer, session
    }

    /// The request's proof: none needed on an open port; else a matching bearer token or a live session cookie.
    public func proof(for request: AdminRequest) -> Proof? {
        guard requiresToken else { return .open }
        if let authorization = request.headers["authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer", tokenMatches(String(parts[1]).trimmingCharacters(in: .whitespaces)) {
                return .bearer
            }
        }
        if let session = request.cookies[AdminSessions.cookieName], sessions.isValid(session) {
            return .session
        }
        return nil
    }
}
