import Crypto
import Foundation

/// A key typed by people: 25 characters in 5 groups of 5, from an alphabet without look-alikes.
///
/// The first character says the kind (`C` client setup key, `H` host key), 23 characters are random and the
/// last is a check character: the sum of each character's value times its position (1…25) is 0 modulo 31.
/// With 31 symbols and 31 prime, every single-character substitution and every swap of two adjacent characters
/// changes that sum, so each such typo is caught.
public struct ProductKey: Sendable, Hashable, CustomStringConvertible {
    /// 31 symbols: digits 2–9 and the letters without I, L and O.
    public static let alphabet: [Character] = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    static let modulus = 31
    public static let length = 25

    public enum Kind: Character, Sendable, CaseIterable {
        /// A public client setup key (like a GVLK): makes a machine a client for one SKU.
        case clientSetup = "C"
        /// A secret host key (like a CSVLK): unlocks hosts for a product group.
        case host = "H"

        public var displayName: String {
            switch self {
            case .clientSetup: "client setup key"
            case .host: "host key"
            }
        }
    }

    /// The 25 characters, without separators.
    public let normalized: String

    public var kind: Kind { Kind(rawValue: normalized.first!)! }

    /// `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
    public var description: String {
        let chars = Array(normalized)
        return stride(from: 0, to: ProductKey.length, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    /// SHA-256 (hex) of the normalised key: what a vendor's ledger and a host certificate keep instead of the key.
    public var hash: String { Hex.encode(SHA256.hash(data: Data(normalized.utf8))) }

    /// A short public id for the key (the first 12 hex digits of its hash), used to block it.
    public var keyID: String { "hk-" + hash.prefix(12) }

    /// Parses a typed key: case, spaces and dashes do not matter; anything else wrong is C004F050.
    public init(_ text: String) throws(TallyError) {
        let cleaned = text.uppercased().filter { $0 != "-" && $0 != " " }
        guard cleaned.count == ProductKey.length else {
            throw TallyError(.invalidKey, "a key has \(ProductKey.length) characters (5 groups of 5); this one has \(cleaned.count)")
        }
        var values: [Int] = []
        for (index, character) in cleaned.enumerated() {
            guard let value = ProductKey.alphabet.firstIndex(of: character) else {
                throw TallyError(.invalidKey, "character '\(character)' at position \(index + 1) is never used in keys (no 0, 1, I, L or O)")
            }
            values.append(value)
        }
        guard ProductKey.checksum(values) == 0 else {
            throw TallyError(.invalidKey, "the key does not pass its check: a character is mistyped or two are swapped")
        }
        guard Kind(rawValue: cleaned.first!) != nil else {
            throw TallyError(.invalidKey, "the key is of no kind Tally knows")
        }
        normalized = cleaned
    }

    /// A new random key of `kind`.
    public static func generate(_ kind: Kind) -> ProductKey {
        var rng = SystemRandomNumberGenerator()
        return generate(kind, using: &rng)
    }

    public static func generate(_ kind: Kind, using rng: inout some RandomNumberGenerator) -> ProductKey {
        var values = [alphabet.firstIndex(of: kind.rawValue)!]
        for _ in 0..<(length - 2) { values.append(Int.random(in: 0..<modulus, using: &rng)) }
        // Choose the check value c so that partial + 25·c ≡ 0 (mod 31); 5 is 25's inverse mod 31.
        let partial = checksum(values)
        let check = ((modulus - partial) * 5) % modulus
        values.append(check)
        return try! ProductKey(String(values.map { alphabet[$0] }))
    }

    static func checksum(_ values: [Int]) -> Int {
        values.enumerated().reduce(0) { ($0 + ($1.offset + 1) * $1.element) % modulus }
    }
}
