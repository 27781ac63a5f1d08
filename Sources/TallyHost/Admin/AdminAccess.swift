import Crypto
import Foundation
import NIOConcurrencyHelpers
import TallyCore
import TallyFiles

#if canImport(Glibc)
import Glibc
#endif

/// Who may use the admin port.
///
/// Without a token file the admin port must listen on `127.0.0.1`, `::1` or `localhost` and everyone who can
/// connect there may read it, but only under a loopback name: a request whose `Host` is another name is 421, so a
/// web page whose name was rebound to 127.0.0.1 (DNS rebinding) cannot read it through the browser. Any other
/// address, including the rest of 127.0.0.0/8 (which other network namespaces, containers and port forwards
/// reach more easily than it seems), needs a token file. With a token the API wants `Authorization: Bearer TOKEN`
/// and the browser a session cookie from the login form. SIGHUP re-reads the token file (``reload(tokenFile:directory:)``).
public struct AdminAccess: Sendable {
    /// The token; `nil` when the port is open (loopback without a token file). Replaced on SIGHUP.
    private let token: NIOLockedValueBox<String>?
    public let sessions: AdminSessions
    /// Failed logins and bearer tokens per address.
    public let failures = SharedAuthFailureThrottle()

    public var requiresToken: Bool { token != nil }

    public init(token: String?, sessions: AdminSessions) {
        self.token = token.map { NIOLockedValueBox($0) }
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
                                     + "(`tally host set admin-listen 127.0.0.1:1689`); then start the host again.")
            }
            return AdminAccess(token: nil, sessions: sessions)
        }
        return AdminAccess(token: try readToken(tokenPath(tokenFile, directory: directory)), sessions: sessions)
    }

    /// The token file's path: as given when absolute, else in the state directory.
    public static func tokenPath(_ tokenFile: String, directory: StateDirectory) -> String {
        tokenFile.hasPrefix("/") ? tokenFile : directory.file(tokenFile).path
    }

    /// SIGHUP: reads the token file again. A new token replaces the old one at once and ends every session; a file
    /// that cannot be used (missing, readable by others, too short) is an error and the old token stays. Turning
    /// the token on or off, like moving the admin port, needs a restart (the loopback rule is checked before
    /// anything listens). Returns whether the token changed.
    @discardableResult
    public func reload(tokenFile: String?, directory: StateDirectory) throws -> Bool {
        let restart = "Restart the host to apply it (`systemctl restart tally-host`); until then the admin interface keeps what it started with."
        guard let token else {
            guard tokenFile == nil else {
                throw TallyError(.usageError, "admin-token-file was set while the admin interface runs without a token", remedy: restart)
            }
            return false
        }
        guard let tokenFile else {
            throw TallyError(.usageError, "admin-token-file was removed; the admin interface keeps its token", remedy: restart)
        }
        let new = try AdminAccess.readToken(AdminAccess.tokenPath(tokenFile, directory: directory))
        let changed = token.withLockedValue { current in
            defer { current = new }
            return current != new
        }
        if changed { sessions.endAll() }
        return changed
    }

    /// Whether a request may be answered under the name it used (its `Host` header). With a token, any name: the
    /// token is the proof, and the session cookie is SameSite=Strict. Without one, only a loopback name
    /// (`127.0.0.1`, `[::1]`, `localhost`, any port, so SSH port forwards work): a page of another site whose name
    /// was made to resolve to 127.0.0.1 (DNS rebinding) reaches the port, but its requests carry that site's name.
    public func hostAllowed(_ host: String?) -> Bool {
        requiresToken || host.map(AdminAccess.isLoopbackAuthority) == true
    }

    /// `127.0.0.1`, `[::1]` or `localhost`, with or without a port.
    static func isLoopbackAuthority(_ authority: String) -> Bool {
        var name = Substring(authority.trimmingCharacters(in: .whitespaces))
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy({ ("0"..."9").contains($0) })) else { return false }
            name = name[name.index(after: name.startIndex)..<close]
            return name == "::1"
        }
        if let colon = name.firstIndex(of: ":") {
            let port = name[name.index(after: colon)...]
            guard port.allSatisfy({ ("0"..."9").contains($0) }) else { return false }
            name = name[..<colon]
        }
        return name == "127.0.0.1" || name.lowercased() == "localhost"
    }

    /// A token needs this many characters…
    public static let minimumTokenLength = 32
    /// …of which this many different ones, so a repeated letter or a short pattern is refused.
    public static let minimumDistinctTokenCharacters = 16

    static func tokenRemedy(_ path: String) -> String {
        "Write a random one: `head -c 32 /dev/urandom | base64 > \(path)` (44 characters); a running host takes it on SIGHUP."
    }

    /// Reads a token file: private to its owner (as ssh wants of private keys), one word of at least 32 characters
    /// with at least 16 different ones.
    public static func readToken(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TallyError(.notInstalled, "the admin token file \(path) does not exist",
                             remedy: "Create it (`head -c 32 /dev/urandom | base64 > \(path); chmod 600 \(path)`) or `tally host set admin-token-file none`.")
        }
        if info.st_mode & 0o077 != 0 {
            throw TallyError(.accessDenied, "the admin token file \(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             remedy: "Run `chmod 600 \(path)`; if others could read it, write a new token into it (a running host takes it on SIGHUP).")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TallyError(.stateUnreadable, "could not read the admin token file \(path): \(error.localizedDescription)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.contains(where: { $0.isWhitespace }) else {
            throw TallyError(.usageError, "the admin token in \(path) must be one word (it holds whitespace)", remedy: tokenRemedy(path))
        }
        // Guessable tokens are refused, not only short ones: "aaaa…" is long and worthless.
        guard token.count >= minimumTokenLength else {
            throw TallyError(.usageError, "the admin token in \(path) has \(token.count) characters; at least \(minimumTokenLength) are needed",
                             remedy: tokenRemedy(path))
        }
        let distinct = Set(token).count
        guard distinct >= minimumDistinctTokenCharacters else {
            throw TallyError(.usageError, "the admin token in \(path) uses only \(distinct) different characters; at least \(minimumDistinctTokenCharacters) are needed",
                             remedy: tokenRemedy(path))
        }
        return token
    }

    /// Compares a presented token with the real one in time that does not depend on where they differ:
    /// both are hashed first, so not even the length leaks.
    public func tokenMatches(_ candidate: String) -> Bool {
        guard let token = token?.withLockedValue({ $0 }) else { return false }
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
