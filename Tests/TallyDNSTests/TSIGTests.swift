import Foundation
import Testing
@testable import TallyDNS

@Suite struct TSIGTests {
    static let keyFile = """
    // made by tsig-keygen
    key "tally-key" {
    \talgorithm hmac-sha256;
    \tsecret "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    };
    """

    var key: TSIGKey { try! TSIGKey(bindKeyFile: TSIGTests.keyFile) }

    var update: DNSUpdate {
        DNSUpdate(zone: name("tally.test"), changes: [
            .add(.srv(name("_tally._tcp.tally.test"), ttl: 300, SRVData(priority: 0, weight: 0, port: 1688, target: name("host1.tally.test")))),
        ])
    }

    @Test func readsABindKeyFile() throws {
        #expect(key.name == name("tally-key"))
        #expect(key.algorithm == .hmacSHA256)
        #expect(key.secret == Array(0..<32))
        #expect(!key.description.contains("AAEC"))
    }

    @Test func picksOneOfSeveralKeysAndSkipsOtherStatements() throws {
        let text = """
        options { directory "/var/cache/bind"; };  # not a key
        /* two keys */
        key "a." { algorithm hmac-sha512; secret "c2VjcmV0"; };
        key b { secret "b3RoZXI="; algorithm HMAC-SHA256; };
        """
        #expect(throws: TSIGKeyFileError.self) { try TSIGKey(bindKeyFile: text) }
        let b = try TSIGKey(bindKeyFile: text, named: "b")
        #expect(b.algorithm == .hmacSHA256 && b.secret == Array("other".utf8))
        #expect(try TSIGKey(bindKeyFile: text, named: "a").algorithm == .hmacSHA512)
        #expect(throws: TSIGKeyFileError.self) { try TSIGKey(bindKeyFile: text, named: "c") }
    }

    @Test(arguments: [
        "", "key k { algorithm hmac-md5; secret \"c2VjcmV0\"; };", "key k { algorithm hmac-sha256; };",
        "key k { algorithm hmac-sha256; secret \"not base64!\"; };", "key k { algorithm hmac-sha256; secret \"c2VjcmV0\"",
        "key k { algorithm hmac-sha256; secret \"unterminated }; };", "/* open comment",
    ])
    func refusesBrokenKeyFiles(_ text: String) {
        #expect(throws: TSIGKeyFileError.self) { try TSIGKey(bindKeyFile: text) }
    }

    /// A key file group or others may read is refused with a `chmod 600` remedy, whatever else is right with it;
    /// the check reads the mode bits, so it holds when the tests run as root.
    @Test func refusesAKeyFileOthersCanRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-tsig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tally-host.key").path
        try TSIGTests.keyFile.write(toFile: path, atomically: true, encoding: .utf8)
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            do {
                _ = try TSIGKey.load(path: path)
                Issue.record("mode \(String(mode, radix: 8)) was accepted")
            } catch {
                #expect(error.message.contains("may be read by other users (mode \(String(mode, radix: 8)))"), "\(error.message)")
                #expect(error.remedy?.contains("chmod 600 \(path)") == true)
                #expect(!error.message.contains("AAEC"))
            }
        }
        for mode in [0o600, 0o400] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            #expect(try TSIGKey.load(path: path) == key)
        }
    }

    /// The signed bytes match an independent implementation of RFC 8945 (a short Python script with `hmac`
    /// written for this test): the message layout, the TSIG variables and the MAC.
    @Test func signatureMatchesAnIndependentKnownAnswer() throws {
        let signer = TSIGSigner(key: key)
        let signed = try signer.sign(update.message(id: 0x1234), at: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(hexString(signed.mac) == "5ed73bd706ebdc7e2449e06a32ecf1ceb051b43799997b83c674ae6cdb577232")
        #expect(hexString(signed.bytes) == """
            1234280000010000000100010574616c6c7904746573740000060001065f74616c6c79045f746370c00c002100010000012c00180000\
            0000069805686f7374310574616c6c790474657374000974616c6c792d6b65790000fa00ff00000000003d0b686d61632d73686132\
            35360000006553f100012c00205ed73bd706ebdc7e2449e06a32ecf1ceb051b43799997b83c674ae6cdb577232123400000000
            """)
        let decoded = try DNSMessage(decoding: signed.bytes)
        #expect(decoded.tsig?.data.originalID == 0x1234)
        #expect(decoded.header.opcode == .update)
    }

    /// Plays the server: signs an answer over the request MAC as RFC 8945 §5.3 says.
    func serverAnswer(to requestMAC: [UInt8], id: UInt16, rcode: UInt8 = 0, at time: UInt64, error: DNSResponseCode = .noError,
                      signer: TSIGSigner? = nil, other: [UInt8] = [], emptyMAC: Bool = false) throws -> [UInt8] {
        let signer = signer ?? TSIGSigner(key: key)
        var header = DNSHeader(id: id)
        header.isResponse = true
        header.opcode = .update
        header.responseCodeLowBits = rcode
        let answer = DNSMessage(header: header, questions: [DNSQuestion(name: name("tally.test"), type: .soa)])
        let unsigned = try answer.encoded()
        var tsig = TSIGData(algorithm: signer.key.algorithm.name, timeSigned: time, fudge: 300, mac: [], originalID: id, error: error, otherData: other)
        if !emptyMAC {
            tsig.mac = signer.mac(over: [UInt8(requestMAC.count >> 8), UInt8(requestMAC.count & 0xFF)] + requestMAC + unsigned + signer.variables(tsig))
        }
        let record = DNSResourceRecord(name: signer.key.name, type: .tsig, class: .any, ttl: 0, data: .tsig(tsig))
        var bytes = unsigned + (try DNSMessage.encodeStandalone(record))
        bytes[11] = 1
        return bytes
    }

    @Test func verifiesAGoodAnswerAndRejectsATamperedOne() throws {
        let signer = TSIGSigner(key: key)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let request = try signer.sign(update.message(id: 77), at: now)
        let answer = try serverAnswer(to: request.mac, id: 77, at: 1_700_000_010)
        let verified = try signer.verify(answer: answer, requestMAC: request.mac, at: now)
        #expect(verified.header.id == 77 && verified.responseCode == .noError)

        var tampered = answer
        tampered[3] |= 0x05  // REFUSED slipped in by someone on the path
        #expect(throws: TSIGVerificationError(.badMAC, "")) { try signer.verify(answer: tampered, requestMAC: request.mac, at: now) }
        // An answer to another request does not verify either.
        #expect(throws: TSIGVerificationError(.badMAC, "")) {
            try signer.verify(answer: answer, requestMAC: Array(repeating: 0, count: 32), at: now)
        }
    }

    @Test func checksTheAnswersTime() throws {
        let signer = TSIGSigner(key: key)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let request = try signer.sign(update.message(id: 1), at: now)
        let late = try serverAnswer(to: request.mac, id: 1, at: 1_700_000_000 + 301)
        #expect(throws: TSIGVerificationError(.badTime, "")) { try signer.verify(answer: late, requestMAC: request.mac, at: now) }
        let inside = try serverAnswer(to: request.mac, id: 1, at: 1_700_000_000 - 300)
        #expect(throws: Never.self) { try signer.verify(answer: inside, requestMAC: request.mac, at: now) }
    }

    @Test func surfacesTheServersTSIGErrors() throws {
        let signer = TSIGSigner(key: key)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let request = try signer.sign(update.message(id: 9), at: now)
        for code in [DNSResponseCode.badSignature, .badKey] {
            let answer = try serverAnswer(to: request.mac, id: 9, rcode: 9, at: 1_700_000_000, error: code, emptyMAC: true)
            #expect(throws: TSIGVerificationError(.serverRejected, "", serverError: code)) {
                try signer.verify(answer: answer, requestMAC: request.mac, at: now)
            }
        }
        // BADTIME answers are signed and carry the server's clock.
        let serverClock: UInt64 = 1_700_003_600
        let other = (0..<6).reversed().map { UInt8((serverClock >> (8 * UInt64($0))) & 0xFF) }
        let badTime = try serverAnswer(to: request.mac, id: 9, rcode: 9, at: 1_700_000_000, error: .badTime, other: other)
        do {
            _ = try signer.verify(answer: badTime, requestMAC: request.mac, at: now)
            Issue.record("BADTIME accepted")
        } catch {
            #expect(error.serverError == .badTime)
            #expect(error.serverTime == serverClock)
        }
    }

    @Test func refusesUnsignedAndOtherKeysAnswers() throws {
        let signer = TSIGSigner(key: key)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let request = try signer.sign(update.message(id: 5), at: now)
        var header = DNSHeader(id: 5)
        header.isResponse = true
        let unsigned = try DNSMessage(header: header).encoded()
        #expect(throws: TSIGVerificationError(.unsigned, "")) { try signer.verify(answer: unsigned, requestMAC: request.mac, at: now) }
        let other = TSIGSigner(key: TSIGKey(name: name("other-key"), secret: Array(repeating: 1, count: 32)))
        let answer = try serverAnswer(to: request.mac, id: 5, at: 1_700_000_000, signer: other)
        #expect(throws: TSIGVerificationError(.wrongKey, "")) { try signer.verify(answer: answer, requestMAC: request.mac, at: now) }
    }

    @Test func updatesDeleteOneRecordNeverTheRRset() throws {
        let record = DNSResourceRecord.srv(name("_tally._tcp.tally.test"), ttl: 300,
                                           SRVData(priority: 0, weight: 0, port: 1688, target: name("host1.tally.test")))
        let message = DNSUpdate(zone: name("tally.test"), changes: [.delete(record), .add(record)]).message(id: 3)
        let decoded = try DNSMessage(decoding: try message.encoded())
        #expect(decoded.header.opcode == .update)
        #expect(decoded.questions == [DNSQuestion(name: name("tally.test"), type: .soa)])
        #expect(decoded.answers.isEmpty)
        let deletion = decoded.authorities[0]
        #expect(deletion.class == .none && deletion.ttl == 0 && deletion.type == .srv && deletion.data == record.data)
        #expect(decoded.authorities[1] == record)
    }
}
