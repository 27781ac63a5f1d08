import Foundation
import TallyCore

/// Where a shared store is: `postgresql://USER@HOST:PORT/DB`. A password in the URL is refused (it would sit in
/// `settings.json`, readable by whoever reads the settings): it comes from `store-password-file`, `PGPASSWORD`
/// or `~/.pgpass`.
public struct PostgresStoreURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses the setting's text; throws a usage error saying what is wrong.
    public init(parsing text: String) throws(TallyError) {
        let prefixes = ["postgresql://", "postgres://"]
        guard let prefix = prefixes.first(where: { text.hasPrefix($0) }) else {
            throw TallyError(.usageError, "a PostgreSQL store is postgresql://USER@HOST:PORT/DB, not '\(text)'")
        }
        var rest = Substring(text.dropFirst(prefix.count))
        guard let at = rest.lastIndex(of: "@") else {
            throw TallyError(.usageError, "the store URL names no user: postgresql://USER@HOST:PORT/DB")
        }
        let userPart = rest[..<at]
        if userPart.contains(":") {
            throw TallyError(.storeSettingRefused, "the store URL holds a password: settings.json must never hold one",
                             remedy: "Remove the password from the URL and put it in a file of mode 0600 named by `tally host set store-password-file PATH` (or PGPASSWORD, or ~/.pgpass).")
        }
        rest = rest[rest.index(after: at)...]
        guard let slash = rest.firstIndex(of: "/") else {
            throw TallyError(.usageError, "the store URL names no database: postgresql://USER@HOST:PORT/DB")
        }
        let database = String(rest[rest.index(after: slash)...])
        var hostPort = rest[..<slash]
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65_535).contains(number) else {
                throw TallyError(.usageError, "the store URL's port must be a number in 1...65535")
            }
            port = number
            hostPort = hostPort[..<colon]
        }
        let host = hostPort.hasPrefix("[") && hostPort.hasSuffix("]") ? String(hostPort.dropFirst().dropLast()) : String(hostPort)
        let name = { (part: String) in !part.isEmpty && part.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } }
        guard name(String(userPart)), !host.isEmpty, name(database), !database.contains("?") else {
            throw TallyError(.usageError, "the store URL must be postgresql://USER@HOST:PORT/DB with plain names, not '\(text)'")
        }
        self.init(user: String(userPart), host: host, port: port, database: database)
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(shownHost):\(port)/\(database)"
    }
}
