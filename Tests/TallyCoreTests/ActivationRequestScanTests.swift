import Foundation
import Testing
import TallyCore

/// The one-pass reader of activation bodies against JSONDecoder: whatever it accepts, JSONDecoder reads the same
/// way; whatever it declines still decodes (or is refused) exactly as before.
@Suite("Activation request scan: the same bodies as JSONDecoder, or none")
struct ActivationRequestScanTests {
    static func scan(_ data: Data) -> ActivationRequestBody? { data.withUnsafeBytes { ActivationRequestScan.body($0) } }
    static func decoder(_ data: Data) -> ActivationRequestBody? { try? JSONDecoder().decode(ActivationRequestBody.self, from: data) }

    /// A body as the client library writes it.
    static let clientBody: Data = {
        let body = ActivationRequestBody(cmid: "6f1c1f5e-2b1a-4c1e-9d51-2f1f3b0b8c11", sku: "studio-pro", fingerprint: String(repeating: "ab", count: 32),
                                         machine: "büro-ws-17", clientTime: Date(timeIntervalSince1970: 1_800_000_000), nonce: "bm9uY2Utbm9uY2Utbm9uY2U",
                                         licenseStatus: .initialGrace, minutesToExpiry: 43_200, vm: true,
                                         certificateHash: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
        return try! JSONEncoder().encode(body)
    }()

    @Test("the client library's body is read by the scan, as JSONDecoder reads it")
    func clientBodyIsScanned() throws {
        let scanned = try #require(Self.scan(Self.clientBody))
        #expect(scanned == Self.decoder(Self.clientBody))
        #expect(scanned.machine == "büro-ws-17")
        #expect(scanned.minutesToExpiry == 43_200 && scanned.vm == true && scanned.hch?.count == 43)
        let (decoded, request) = try ActivationRequestBody.decode(Self.clientBody)
        #expect(decoded == scanned && request.cmid == scanned.cmid)
    }

    @Test("optional fields absent or null, unknown keys and whitespace: read as JSONDecoder reads them")
    func optionalUnknownAndSpace() throws {
        let bodies = [
            #"{"ver":2,"cmid":"6f1c1f5e-2b1a-4c1e-9d51-2f1f3b0b8c11","sku":"s","fingerprint":"f","machine":"","clientTime":8,"nonce":"n","licenseStatus":"Licensed"}"#,
            #" { "ver" : 1 , "cmid":"c","sku":"s","fingerprint":"f","machine":"m","clientTime":-0,"nonce":"n","licenseStatus":"x","vm":null,"minutesToExpiry":null,"hch":null,"extra":[] } "#,
            #"{"ver":1,"cmid":"c","sku":"s","fingerprint":"f","machine":"m","clientTime":0,"nonce":"n","licenseStatus":"x","future":"yes","other":12,"flag":false}"#,
            "{\"ver\":1,\n\t\"cmid\":\"c\",\"sku\":\"s\",\"fingerprint\":\"f\",\"machine\":\"m\",\"clientTime\":5,\"nonce\":\"n\",\"licenseStatus\":\"x\",\"vm\":false}\r\n",
        ]
        var scanned = 0
        for text in bodies {
            let data = Data(text.utf8)
            let expected = try #require(Self.decoder(data), "\(text)")
            if let body = Self.scan(data) {
                #expect(body == expected, "\(text)")
                scanned += 1
            }
        }
        // All but the one with a nested unknown value.
        #expect(scanned == 3)
    }

    @Test("escapes, fractions, nested values, repeated keys, overflow, trailing bytes: left to JSONDecoder, with its result or error")
    func declined() throws {
        let base = #""cmid":"c","sku":"s","fingerprint":"f","clientTime":5,"nonce":"n","licenseStatus":"x""#
        let cases = [
            #"{"ver":1,"machine":"a\"b","# + base + "}",
            #"{"ver":1,"machine":"a\u00e9","# + base + "}",
            #"{"ver":1.0,"machine":"m","# + base + "}",
            #"{"ver":1,"machine":"m","x":{"y":1},"# + base + "}",
            #"{"ver":1,"ver":2,"machine":"m","# + base + "}",
            #"{"ver":1,"machine":"m","minutesToExpiry":2147483648,"# + base + "}",
            #"{"ver":1,"machine":"m","# + base + "} x",
            #"{"ver":01,"machine":"m","# + base + "}",
            #"{"ver":1,"machine":"m","# + base + ",}",
            #"{"ver":1,"# + base + "}",
            #"{"ver":"1","machine":"m","# + base + "}",
            "{\"ver\":1,\"machine\":\"\u{01}\"," + base + "}",
        ]
        for text in cases {
            let data = Data(text.utf8)
            #expect(Self.scan(data) == nil, "\(text)")
            let expected = Self.decoder(data)
            let decoded = try? ActivationRequestBody.decode(data).0
            // decode() adds validation after JSONDecoder: compare what JSONDecoder alone made of it.
            if let decoded { #expect(decoded == expected, "\(text)") }
        }
        // Invalid UTF-8 inside a string.
        let bytes = Array(#"{"ver":1,"machine":"m"#.utf8) + [0xFF] + Array(("\"," + base + "}").utf8)
        #expect(bytes.withUnsafeBytes { ActivationRequestScan.body($0) } == nil)
        // The messages of a refusal are JSONDecoder's, as before.
        #expect(throws: TallyError.self) { try ActivationRequestBody.decode(Data(#"{"ver":1}"#.utf8)) }
        do {
            _ = try ActivationRequestBody.decode(Data((#"{"ver":1,"# + base + "}").utf8))
            Issue.record("a body without machine was accepted")
        } catch {
            #expect(error.message == "machine is missing")
        }
    }

    @Test("the fuzzer's corpus and 20,000 mutations of a client's body: every body the scan reads, JSONDecoder reads the same")
    func differential() throws {
        var inputs: [Data] = ActivationFuzzCorpusReplayTests.inputs("corpus").compactMap { try? Data(contentsOf: $0) }
        inputs += ActivationFuzzCorpusReplayTests.inputs("crashes").compactMap { try? Data(contentsOf: $0) }
        var random = SplitMix64(seed: 0x7A11_5CA2)
        let interesting = Array(#"\"{}[],:.eE-+0123456789 tnfrul"#.utf8) + [0x00, 0x09, 0x0A, 0x7F, 0x80, 0xC3, 0xA9, 0xFF]
        let seed = Array(Self.clientBody)
        for _ in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: position)
                case 2: bytes[position] = interesting.randomElement(using: &random)!
                default: bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + Int.random(in: 1...12, using: &random))], at: position)
                }
                if bytes.isEmpty { bytes = seed }
            }
            inputs.append(Data(bytes))
        }
        var scanned = 0, declined = 0
        for data in inputs {
            if let body = Self.scan(data) {
                #expect(body == Self.decoder(data), "\(String(decoding: data, as: UTF8.self))")
                scanned += 1
            } else {
                declined += 1
            }
        }
        // Both paths are exercised.
        #expect(scanned > 1_000 && declined > 1_000)
    }
}
