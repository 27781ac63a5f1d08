import Foundation
import Testing
@testable import TallyDNS

/// Replays every input the fuzzer kept (Fuzz/DNSMessage/corpus) and every crash it ever found
/// (Fuzz/DNSMessage/crashes) through the reader, with the fuzz target's properties, in an ordinary test run.
@Suite struct FuzzCorpusReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/DNSMessage")

    static func inputs(_ folder: String) -> [URL] {
        let directory = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test func theCorpusIsThere() {
        // Seeds from real named answers, signed updates included, and what libFuzzer found from them.
        #expect(FuzzCorpusReplayTests.inputs("corpus").count >= 20)
        #expect(FileManager.default.fileExists(atPath: FuzzCorpusReplayTests.root.appendingPathComponent("crashes").path))
    }

    @Test func everyKeptInputIsReadSafely() throws {
        var accepted = 0
        let files = FuzzCorpusReplayTests.inputs("corpus") + FuzzCorpusReplayTests.inputs("crashes")
        for file in files {
            let bytes = Array(try Data(contentsOf: file))
            guard let message = try? DNSMessage(decoding: bytes) else { continue }
            accepted += 1
            #expect(try DNSMessage.decodeSigned(bytes).message == message, "\(file.lastPathComponent)")
            for question in message.questions {
                #expect(try DNSName(question.name.description) == question.name, "\(file.lastPathComponent)")
            }
            do {
                #expect(try DNSMessage(decoding: try message.encoded()) == message, "\(file.lastPathComponent)")
            } catch {
                #expect(error.kind == .tooLarge, "\(file.lastPathComponent): \(error)")
            }
        }
        // The seeds are real answers, so some inputs are valid messages and the round trip was exercised.
        #expect(accepted >= 20)
    }
}
