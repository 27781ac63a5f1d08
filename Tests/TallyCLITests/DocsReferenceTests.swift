import Foundation
import Testing

/// The documents the code cites exist, and the files docs/ARCHITECTURE.md names are where it says: when code
/// moves, this test names the line of the document to update.
@Suite("Docs: cited documents and named source files exist")
struct DocsReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func swiftFiles(under directory: String) -> [URL] {
        let base = root.appendingPathComponent(directory)
        guard let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return files.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    @Test("every Markdown document a doc comment or comment in Sources cites is in the repository")
    func citedDocumentsExist() throws {
        let cited = try Regex(#"(?:docs/)?[A-Z][A-Za-z]+\.md"#)
        var checked = 0
        for file in Self.swiftFiles(under: "Sources") {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for match in line.matches(of: cited) {
                    var name = String(line[match.range])
                    if !name.hasPrefix("docs/"), !FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(name).path) {
                        name = "docs/" + name
                    }
                    checked += 1
                    #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(name).path),
                            "\(file.lastPathComponent) cites \(line[match.range]), which is not in the repository: \(line)")
                }
            }
        }
        #expect(checked >= 3)
    }

    @Test("every source path docs/ARCHITECTURE.md names exists")
    func architecturePathsExist() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let paths = text.matches(of: try Regex(#"`(Sources/[^`]+)`"#)).map { String($0.output[1].substring ?? "") }
        #expect(paths.count >= 10)
        for path in paths {
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path), "docs/ARCHITECTURE.md names \(path)")
        }
        // The token files of the format table, named relative to Sources/TallyCore/Tokens.
        for row in text.split(separator: "\n") where row.hasPrefix("| ") && row.contains("+jwt") {
            for file in row.matches(of: try Regex(#"`([A-Za-z]+\.swift)`"#)) {
                let name = String(file.output[1].substring ?? "")
                #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("Sources/TallyCore/Tokens/\(name)").path),
                        "docs/ARCHITECTURE.md's token table names \(name)")
            }
        }
    }
}
