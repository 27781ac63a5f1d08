import Foundation
import Testing
import TallyCore

/// Every input the fuzzer kept (corpus) or that once crashed it (crashes) goes through the decoder again:
/// it must decode or throw C0A70001, never crash.
@Suite("Activation request fuzz corpus replay")
struct ActivationFuzzCorpusReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/ActivationRequest")

    static func inputs(_ folder: String) -> [URL] {
        let directory = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test("the corpus is in the repository")
    func corpusPresent() {
        #expect(Self.inputs("corpus").count >= 5)
    }

    @Test("every corpus and crash input decodes or is refused as malformed")
    func replay() throws {
        var decoded = 0
        for url in Self.inputs("corpus") + Self.inputs("crashes") {
            let data = try Data(contentsOf: url)
            do {
                let (_, request) = try ActivationRequestBody.decode(data)
                #expect(CMID.validate(request.cmid) == request.cmid)
                decoded += 1
            } catch {
                #expect(error.code == .malformedRequest, "\(url.lastPathComponent)")
            }
        }
        #expect(decoded >= 1)
    }
}
