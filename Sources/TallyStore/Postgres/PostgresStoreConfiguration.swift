import Foundation
import TallyCore

/// Everything a host needs to use a shared PostgreSQL store, with a default for every field but the URL.
public struct PostgresStoreConfiguration: Sendable {
    /// How the connection is encrypted (`store-sslmode`).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, the certificate checked against `store-ca-file` (or the system's roots) and the host name.
        case verifyFull = "verify-full"
    }

    /// Whose clock decides: the database's `now()` (every serving host), or the caller's `now` (the contract tests,
    /// whose time is an input, and `store migrate`, which copies times as they were).
    public enum Clock: Sendable {
        case database
        case caller
    }

    public var url: PostgresStoreURL
    public var password: String?
    public var sslMode: SSLMode = .disable
    public var caFile: String?
    /// Sessions open at most (`store-max-connections`); one of them decides.
    public var maxConnections = 4
    /// How long connecting may take: a stopped PostgreSQL refuses at once, an unreachable one is given up after this,
    /// so a request to a host whose store is down is answered 503 within about a second.
    public var connectTimeout: Duration = .seconds(1)
    /// How long one call (a batch's whole transaction, a read) may take before the store is reported unavailable
    /// (503) and its session closed: a PostgreSQL that accepts and then hangs. Longer than the connect timeout, so a
    /// busy machine's slow batch is not refused.
    public var deadline: Duration = .seconds(3)
    /// How long maintenance off the activation path (retention, clone reports, the report chain) may hold a session
    /// before the caller gives up and the session is closed: several statements, each bounded by `statement_timeout`.
    /// A caller is never left waiting on a session that stopped answering.
    public var maintenanceDeadline: Duration = .seconds(30)
    /// `statement_timeout` of every session.
    public var statementTimeout: Duration = .seconds(5)
    /// `lock_timeout` of every session.
    public var lockTimeout: Duration = .seconds(1)
    /// `idle_in_transaction_session_timeout` of every session.
    public var idleInTransactionTimeout: Duration = .seconds(10)
    public var clock: Clock = .database
    /// This host's id (in every 12290 event and the hosts table) and the address it answers on.
    public var hostID: String
    public var hostAddress: String = ""
    /// Whether this is a serving host, recorded in the store's hosts (not a `tally host` command reading it).
    public var serving = true

    public init(url: PostgresStoreURL, password: String? = nil, hostID: String) {
        self.url = url
        self.password = password
        self.hostID = hostID
    }

    /// The password from, in order: the file (which must be mode 0600 or stricter), `PGPASSWORD`, `~/.pgpass`.
    public static func password(file: String?, url: PostgresStoreURL, environment: [String: String] = ProcessInfo.processInfo.environment) throws(TallyError) -> String? {
        if let file {
            var info = stat()
            guard stat(file, &info) == 0 else {
                throw TallyError(.storeSettingRefused, "store-password-file \(file) cannot be read: \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & 0o077 == 0 else {
                throw TallyError(.storeSettingRefused, "store-password-file \(file) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                                 remedy: "chmod 600 \(file)")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw TallyError(.storeSettingRefused, "store-password-file \(file) cannot be read")
            }
            return text.trimmingCharacters(in: .newlines)
        }
        if let password = environment["PGPASSWORD"] { return password }
        let pgpass = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !pgpass.isEmpty, let text = try? String(contentsOfFile: pgpass, encoding: .utf8) else { return nil }
        return PGPass.password(in: text, for: url)
    }
}

/// `~/.pgpass` lines: `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped.
enum PGPass {
    static func password(in text: String, for url: PostgresStoreURL) -> String? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var fields: [String] = []
            var current = ""
            var escaped = false
            for character in line {
                if escaped { current.append(character); escaped = false } else if character == "\\" { escaped = true } else if character == ":" {
                    fields.append(current); current = ""
                } else { current.append(character) }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [url.host, String(url.port), url.database, url.user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
