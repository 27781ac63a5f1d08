import Crypto
import Foundation
import TallyCore
import Testing

@Suite("Product keys")
struct ProductKeyTests {
    /// 20 client setup keys and 20 host keys from a fixed seed.
    static func sampleKeys() -> [ProductKey] {
        var rng = SplitMix64(seed: 0x7A11_7A11)
        var keys: [ProductKey] = []
        for _ in 0..<20 {
            keys.append(ProductKey.generate(.clientSetup, using: &rng))
            keys.append(ProductKey.generate(.host, using: &rng))
        }
        return keys
    }

    /// The code a parse of `text` fails with, or `nil` when it parses.
    static func failure(_ text: String) -> ResultCode? {
        do {
            _ = try ProductKey(text)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("the sample holds at least 40 distinct keys of both kinds")
    func sampleIsLargeAndMixed() {
        let keys = Self.sampleKeys()
        #expect(keys.count >= 40)
        #expect(Set(keys).count == keys.count)
        #expect(keys.filter { $0.kind == .clientSetup }.count == 20)
        #expect(keys.filter { $0.kind == .host }.count == 20)
    }

    @Test("generated keys have 25 characters from the alphabet and parse back to themselves")
    func generatedKeysAreWellFormed() throws {
        let alphabet = Set(ProductKey.alphabet)
        for key in Self.sampleKeys() {
            #expect(key.normalized.count == ProductKey.length)
            #expect(key.normalized.allSatisfy { alphabet.contains($0) })
            #expect(try ProductKey(key.description) == key)
            #expect(try ProductKey(key.normalized) == key)
        }
    }

    @Test("the alphabet has 31 symbols and no look-alikes")
    func alphabetHasNoLookAlikes() {
        #expect(ProductKey.alphabet.count == 31)
        #expect(Set(ProductKey.alphabet).count == 31)
        for banned in "01ILO" { #expect(!ProductKey.alphabet.contains(banned)) }
    }

    @Test("the same seed gives the same keys")
    func seededGenerationIsDeterministic() {
        #expect(Self.sampleKeys() == Self.sampleKeys())
    }

    @Test("every single-character substitution is rejected with C004F050")
    func everySubstitutionIsRejected() {
        var tried = 0
        for key in Self.sampleKeys() {
            let chars = Array(key.normalized)
            for position in chars.indices {
                for symbol in ProductKey.alphabet where symbol != chars[position] {
                    var typo = chars
                    typo[position] = symbol
                    let code = Self.failure(String(typo))
                    #expect(code == .invalidKey, "substituting \(symbol) at \(position + 1) in \(key) was not caught")
                    tried += 1
                }
            }
        }
        #expect(tried == 40 * 25 * 30)
    }

    @Test("every swap of two adjacent distinct characters is rejected with C004F050")
    func everyAdjacentSwapIsRejected() {
        var tried = 0
        for key in Self.sampleKeys() {
            let chars = Array(key.normalized)
            for position in 0..<(chars.count - 1) where chars[position] != chars[position + 1] {
                var typo = chars
                typo.swapAt(position, position + 1)
                let code = Self.failure(String(typo))
                #expect(code == .invalidKey, "swapping positions \(position + 1) and \(position + 2) in \(key) was not caught")
                tried += 1
            }
        }
        #expect(tried > 40 * 20)
    }

    @Test("case, spaces and dashes do not matter")
    func normalisationIsAccepted() throws {
        for key in Self.sampleKeys().prefix(10) {
            let n = key.normalized
            let groups = key.description.split(separator: "-").map(String.init)
            let forms = [
                key.description,
                key.description.lowercased(),
                n.lowercased(),
                groups.joined(separator: " "),
                " " + groups.joined(separator: " - ").lowercased() + " ",
                n.map(String.init).joined(separator: "-"),
                groups.joined(),
            ]
            for form in forms {
                let parsed = try ProductKey(form)
                #expect(parsed == key, "\(form) did not normalise to \(key)")
                #expect(parsed.normalized == n)
            }
        }
    }

    @Test("description is five groups of five joined by dashes")
    func descriptionFormat() {
        for key in Self.sampleKeys().prefix(5) {
            let groups = key.description.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.count == 5)
            #expect(groups.allSatisfy { $0.count == 5 })
            #expect(groups.joined() == key.normalized)
        }
    }

    @Test("characters never used in keys are rejected", arguments: ["0", "1", "I", "L", "O", "!", "_", "é", "."])
    func invalidCharacterIsRejected(_ bad: String) {
        let key = Self.sampleKeys()[0].normalized
        let text = String(key.dropLast()) + bad
        #expect(Self.failure(text) == .invalidKey)
        let middle = String(key.prefix(10)) + bad + String(key.dropFirst(11))
        #expect(Self.failure(middle) == .invalidKey)
    }

    @Test("lower-case look-alikes are rejected too", arguments: ["i", "l", "o"])
    func lowercaseLookAlikesAreRejected(_ bad: String) {
        let key = Self.sampleKeys()[1].normalized
        #expect(Self.failure(String(key.dropLast()) + bad) == .invalidKey)
    }

    @Test("a key of the wrong length is rejected")
    func wrongLengthIsRejected() {
        let key = Self.sampleKeys()[2].normalized
        #expect(Self.failure("") == .invalidKey)
        #expect(Self.failure("-----") == .invalidKey)
        #expect(Self.failure(String(key.dropLast())) == .invalidKey)
        #expect(Self.failure(key + "2") == .invalidKey)
        #expect(Self.failure(key + key) == .invalidKey)
        #expect(Self.failure(String(key.prefix(20))) == .invalidKey)
    }

    @Test("the error message names the problem")
    func errorMessagesAreSpecific() {
        let key = Self.sampleKeys()[0].normalized
        do {
            _ = try ProductKey(String(key.prefix(24)))
            Issue.record("a 24-character key parsed")
        } catch {
            #expect(error.message.contains("24"))
            #expect(!error.remedy.isEmpty)
        }
        do {
            _ = try ProductKey(String(key.prefix(3)) + "0" + String(key.dropFirst(4)))
            Issue.record("a key with 0 parsed")
        } catch {
            #expect(error.message.contains("position 4"))
        }
    }

    @Test("a key of no known kind is rejected even with a valid check character")
    func unknownKindIsRejected() {
        // Build a key starting with 'A' whose check character satisfies the sum, by the documented formula.
        let alphabet = ProductKey.alphabet
        var values = [alphabet.firstIndex(of: "A")!]
        var rng = SplitMix64(seed: 99)
        for _ in 0..<23 { values.append(Int.random(in: 0..<31, using: &rng)) }
        let partial = values.enumerated().reduce(0) { ($0 + ($1.offset + 1) * $1.element) % 31 }
        values.append(((31 - partial) * 5) % 31)
        let text = String(values.map { alphabet[$0] })
        let total = values.enumerated().reduce(0) { ($0 + ($1.offset + 1) * $1.element) % 31 }
        #expect(total == 0)
        #expect(Self.failure(text) == .invalidKey)
    }

    @Test("the first character gives the kind")
    func kindDetection() {
        for key in Self.sampleKeys() {
            switch key.kind {
            case .clientSetup: #expect(key.normalized.first == "C")
            case .host: #expect(key.normalized.first == "H")
            }
        }
        #expect(ProductKey.Kind.clientSetup.displayName == "client setup key")
        #expect(ProductKey.Kind.host.displayName == "host key")
        var rng = SplitMix64(seed: 5)
        #expect(ProductKey.generate(.host, using: &rng).kind == .host)
        #expect(ProductKey.generate(.clientSetup, using: &rng).kind == .clientSetup)
        #expect(ProductKey.generate(.host).kind == .host)
    }

    @Test("hash and key id are stable and do not depend on the typed form")
    func hashAndKeyIDAreStable() throws {
        for key in Self.sampleKeys().prefix(10) {
            let typed = try ProductKey(key.description.lowercased())
            #expect(typed.hash == key.hash)
            #expect(typed.keyID == key.keyID)
            #expect(key.hash.count == 64)
            #expect(key.hash.allSatisfy { "0123456789abcdef".contains($0) })
            #expect(key.keyID == "hk-" + key.hash.prefix(12))
            #expect(key.keyID.count == 15)
        }
        let keys = Self.sampleKeys()
        #expect(Set(keys.map(\.hash)).count == keys.count)
    }

    @Test("the hash is SHA-256 of the normalised key")
    func hashIsSHA256OfNormalised() throws {
        // A fixed key, so the hash is pinned across releases.
        var rng = SplitMix64(seed: 1)
        let key = ProductKey.generate(.host, using: &rng)
        let again = try ProductKey(key.description)
        #expect(again.hash == key.hash)
        // The ledger format: lower-case hex of SHA-256(normalized).
        #expect(key.hash == sha256Hex(key.normalized))
    }
}

func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}
