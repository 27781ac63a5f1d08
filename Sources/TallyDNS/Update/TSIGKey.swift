import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A TSIG algorithm Tally signs with (RFC 8945 §6): HMAC-SHA256 is required; SHA-384 and SHA-512 are accepted.
public struct TSIGAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// `hmac-sha256.`: the name on the wire.
    public let name: DNSName
    /// The MAC length in bytes.
    public let macLength: Int

    public static let hmacSHA256 = TSIGAlgorithm(name: DNSName(uncheckedLabels: [Array("hmac-sha256".utf8)]), macLength: 32)
    public static let hmacSHA384 = TSIGAlgorithm(name: DNSName(uncheckedLabels: [Array("hmac-sha384".utf8)]), macLength: 48)
    public static let hmacSHA512 = TSIGAlgorithm(name: DNSName(uncheckedLabels: [Array("hmac-sha512".utf8)]), macLength: 64)

    public static let all: [TSIGAlgorithm] = [.hmacSHA256, .hmacSHA384, .hmacSHA512]

    /// The algorithm BIND names `text` (`hmac-sha256`, with or without the final dot).
    public init?(named text: String) {
        guard let name = try? DNSName(text.lowercased()), let known = TSIGAlgorithm.all.first(where: { $0.name == name }) else { return nil }
        self = known
    }

    private init(name: DNSName, macLength: Int) {
        self.name = name
        self.macLength = macLength
    }

    /// `hmac-sha256`, as BIND's configuration writes it.
    public var description: String { String(decoding: name.labels.first ?? [], as: UTF8.self) }
}

/// A TSIG key: its name, algorithm and shared secret. The secret never appears in `description`.
public struct TSIGKey: Sendable, Equatable, CustomStringConvertible {
    public var name: DNSName
    public var algorithm: TSIGAlgorithm
    public var secret: [UInt8]

    public init(name: DNSName, algorithm: TSIGAlgorithm = .hmacSHA256, secret: [UInt8]) {
        self.name = name
        self.algorithm = algorithm
        self.secret = secret
    }

    public var description: String { "TSIG key \(name) (\(algorithm))" }

    /// Reads a key from the text `tsig-keygen` writes (and `named.conf` includes):
    ///
    /// ```
    /// key "tally-host" {
    ///     algorithm hmac-sha256;
    ///     secret "base64…";
    /// };
    /// ```
    ///
    /// Comments (`#`, `//`, `/* */`) are allowed. With several keys in the text, `named` picks one by name;
    /// without it the text must hold exactly one.
    public init(bindKeyFile text: String, named wanted: String? = nil) throws(TSIGKeyFileError) {
        let keys = try TSIGKey.parseAll(bindKeyFile: text)
        guard !keys.isEmpty else { throw TSIGKeyFileError("the file holds no `key \"NAME\" { … };` statement") }
        if let wanted {
            guard let name = try? DNSName(wanted), let key = keys.first(where: { $0.name == name }) else {
                throw TSIGKeyFileError("the file holds no key named '\(wanted)' (it holds \(keys.map { $0.name.description }.joined(separator: ", ")))")
            }
            self = key
        } else {
            guard keys.count == 1 else {
                throw TSIGKeyFileError("the file holds \(keys.count) keys; say which one to use")
            }
            self = keys[0]
        }
    }

    /// Reads the key file at `path`, refusing one whose mode lets group or others read it (as ssh refuses such a
    /// private key): the secret signs changes to the zone. The check reads the mode bits, so it holds for root.
    public static func load(path: String, named wanted: String? = nil) throws(TSIGKeyFileError) -> TSIGKey {
        let text = try privateText(path: path)
        do {
            return try TSIGKey(bindKeyFile: text, named: wanted)
        } catch {
            throw TSIGKeyFileError("\(path): \(error.message)", remedy: error.remedy)
        }
    }

    /// Every key in the file at `path`, with the same mode check as ``load(path:named:)``; at least one
    /// (`tally host set dns-key-file` checks a file with it before taking it).
    public static func loadAll(path: String) throws(TSIGKeyFileError) -> [TSIGKey] {
        let text = try privateText(path: path)
        do throws(TSIGKeyFileError) {
            let keys = try parseAll(bindKeyFile: text)
            guard !keys.isEmpty else { throw TSIGKeyFileError("the file holds no `key \"NAME\" { … };` statement") }
            return keys
        } catch {
            throw TSIGKeyFileError("\(path): \(error.message)", remedy: error.remedy)
        }
    }

    /// The text of a key file only its owner may read.
    private static func privateText(path: String) throws(TSIGKeyFileError) -> String {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw TSIGKeyFileError("\(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))), so its secret is refused",
                                   remedy: "Run `chmod 600 \(path)`, the file owned by the user the host runs as; if others could read it, "
                                    + "treat the key as stolen: make a new one with `tsig-keygen` and replace it on the name server.")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TSIGKeyFileError("\(path) could not be read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Every `key` statement in the text.
    static func parseAll(bindKeyFile text: String) throws(TSIGKeyFileError) -> [TSIGKey] {
        var tokens = try BINDTokenizer.tokens(text)[...]
        var keys: [TSIGKey] = []
        func expect(_ token: String) throws(TSIGKeyFileError) {
            guard let next = tokens.popFirst() else { throw TSIGKeyFileError("the file ends where '\(token)' was expected") }
            guard next.text == token, !next.quoted else { throw TSIGKeyFileError("'\(next.text)' where '\(token)' was expected") }
        }
        while let token = tokens.popFirst() {
            guard token.text == "key", !token.quoted else {
                // Skip any other statement up to its ';' at depth 0.
                if token.text == ";", !token.quoted { continue }
                var depth = token.text == "{" ? 1 : 0
                while let next = tokens.popFirst() {
                    if next.quoted { continue }
                    if next.text == "{" { depth += 1 }
                    if next.text == "}" { depth -= 1 }
                    if next.text == ";", depth <= 0 { break }
                }
                continue
            }
            guard let nameToken = tokens.popFirst() else { throw TSIGKeyFileError("'key' without a name") }
            let name: DNSName
            do {
                name = try DNSName(nameToken.text)
            } catch {
                throw TSIGKeyFileError("'\(nameToken.text)' is not a valid key name")
            }
            try expect("{")
            var algorithmText: String?
            var secretText: String?
            while let field = tokens.popFirst(), !(field.text == "}" && !field.quoted) {
                guard let value = tokens.popFirst() else { throw TSIGKeyFileError("key \(name): '\(field.text)' without a value") }
                try expect(";")
                switch field.text {
                case "algorithm": algorithmText = value.text
                case "secret": secretText = value.text
                default: continue
                }
            }
            if let next = tokens.first, next.text == ";", !next.quoted { tokens.removeFirst() }
            guard let algorithmText else { throw TSIGKeyFileError("key \(name) has no algorithm") }
            guard let algorithm = TSIGAlgorithm(named: algorithmText) else {
                throw TSIGKeyFileError("key \(name) uses algorithm \(algorithmText); Tally signs with hmac-sha256 (or hmac-sha384, hmac-sha512)")
            }
            guard let secretText, let secret = Data(base64Encoded: secretText), !secret.isEmpty else {
                throw TSIGKeyFileError("key \(name) has no secret in base64")
            }
            keys.append(TSIGKey(name: name, algorithm: algorithm, secret: Array(secret)))
        }
        return keys
    }
}

/// A key file that could not be read: what is wrong, in a sentence, and what to do when it is not the usual
/// (point at the file `tsig-keygen` wrote).
public struct TSIGKeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var remedy: String?
    public init(_ message: String, remedy: String? = nil) {
        self.message = message
        self.remedy = remedy
    }
    public var description: String { message }
}

/// Splits BIND configuration text into words, quoted strings and the punctuation `{ } ;`, dropping comments.
enum BINDTokenizer {
    struct Token: Equatable {
        var text: String
        var quoted: Bool
    }

    static func tokens(_ text: String) throws(TSIGKeyFileError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var word = ""
        func flush() {
            if !word.isEmpty { tokens.append(Token(text: word, quoted: false)) }
            word = ""
        }
        while index < scalars.count {
            let c = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            if c == "#" || (c == "/" && next == "/") {
                flush()
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            } else if c == "/" && next == "*" {
                flush()
                index += 2
                while index + 1 < scalars.count, !(scalars[index] == "*" && scalars[index + 1] == "/") { index += 1 }
                guard index + 1 < scalars.count else { throw TSIGKeyFileError("a /* comment is not closed") }
                index += 2
                continue
            } else if c == "\"" {
                flush()
                index += 1
                var quoted = ""
                while index < scalars.count, scalars[index] != "\"" {
                    quoted.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw TSIGKeyFileError("a quoted string is not closed") }
                tokens.append(Token(text: quoted, quoted: true))
            } else if c == "{" || c == "}" || c == ";" {
                flush()
                tokens.append(Token(text: String(c), quoted: false))
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" {
                flush()
            } else {
                word.unicodeScalars.append(c)
            }
            index += 1
        }
        flush()
        return tokens
    }
}
