import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyTestSupport

/// The state directory is private (SECURITY.md): 0700 when Tally creates it, tightened to 0700 when it exists with
/// a looser mode, refused when it is a shared sticky directory. The checks read mode bits, so they hold as root.
@Suite("State directories are private")
struct StateDirectoryTests {
    func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o7777
    }

    @Test("a new state directory is created 0700")
    func createdPrivate() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("client"))
        try directory.writeJSON(["a": 1], to: "settings.json")
        #expect(try mode(directory.url.path) == 0o700)
    }

    @Test("an existing directory group or others may enter is tightened to 0700", arguments: [0o755, 0o750, 0o711, 0o701, 0o770, 0o777, 0o705])
    func existingTightened(_ loose: Int) throws {
        let temp = TemporaryDirectory()
        let path = temp.path("host")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try "{}".write(toFile: path + "/settings.json", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: loose], ofItemAtPath: path)
        let directory = StateDirectory(path)
        // Every write and every lock goes through create().
        try directory.withLock { try directory.writeSecret(Data("secret".utf8), to: "host-key") }
        #expect(try mode(path) == 0o700)
        #expect(try directory.read("settings.json") == Data("{}".utf8))
    }

    @Test("an existing 0700 directory is left as it is")
    func privateUntouched() throws {
        let temp = TemporaryDirectory()
        let path = temp.path("vendor")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        try StateDirectory(path).create()
        #expect(try mode(path) == 0o700)
    }

    @Test("a shared sticky directory such as /tmp is refused and left unchanged")
    func sharedRefused() throws {
        let temp = TemporaryDirectory()
        let path = temp.path("shared")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: path)
        do {
            try StateDirectory(path).create()
            Issue.record("a sticky shared directory was accepted")
        } catch {
            #expect(error.code == .accessDenied)
            #expect(error.message.contains("shared directory (mode 1777"), "\(error.message)")
            #expect(error.remedy.contains("--state-dir \(path)/tally"), "\(error.remedy)")
        }
        #expect(try mode(path) == 0o1777)
    }

    @Test("a file where the directory should be is refused")
    func fileRefused() throws {
        let temp = TemporaryDirectory()
        let path = temp.path("file")
        try "x".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TallyError.self) { try StateDirectory(path).create() }
    }
}
