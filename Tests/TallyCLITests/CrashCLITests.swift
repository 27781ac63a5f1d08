import Foundation
import Testing

@Suite("Crash safety: SIGKILL under load loses no answered activation", .serialized)
struct CrashCLITests {
    @Test("a small run of scripts/crash-test: every ticket answered is in the store with its 12290 event; synchronous=FULL")
    func crashTest() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/crash-test").path, "--binary", CLIRunner.binary,
                             "--kills", "2", "--seconds", "1", "--clients", "4", "--json"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        #expect(process.terminationStatus == 0, "\(summary)")
        #expect((summary["granted"] as? Int ?? 0) > 0)
        #expect(summary["missingClients"] as? Int == 0)
        #expect(summary["missingEvents"] as? Int == 0)
        #expect(summary["synchronousFull"] as? Bool == true)
    }

    @Test("scripts/crash-test --store postgresql: the host SIGKILLed and PostgreSQL stopped -m immediate under load; every ticket in the store")
    func crashTestOnPostgres() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/crash-test").path, "--binary", CLIRunner.binary,
                             "--store", "postgresql", "--kills", "2", "--seconds", "1", "--clients", "4", "--json"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self)) \(errors)")
        #expect(process.terminationStatus == 0, "\(summary)")
        #expect(summary["store"] as? String == "postgresql")
        #expect((summary["granted"] as? Int ?? 0) > 0)
        #expect(summary["missingClients"] as? Int == 0)
        #expect(summary["missingEvents"] as? Int == 0)
        #expect(summary["postgresStops"] as? Int == 1)
        #expect(summary["grantedAfterEveryRestart"] as? Bool == true)
        #expect(summary["postgresStore"] as? Bool == true)
    }
}
