import Foundation
import Testing

/// `scripts/check-build-log`, which `scripts/test` feeds the build's output: a warning in this repository's code
/// fails the run; one in a dependency's checkout does not; and `scripts/test` passes test-selection options to
/// `swift test` only.
@Suite("Build warnings: scripts/check-build-log and scripts/test's options")
struct BuildLogCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func check(_ log: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/check-build-log").path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(log.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a warning in Sources or Tests fails with the warning shown; a clean log and a dependency's warning pass")
    func warnings() throws {
        let own = "[12/40] Compiling TallyHost HostRuntime.swift\n/work/x/Sources/TallyHost/A.swift:3:9: warning: initialization of immutable value 'x' was never used\n"
        let failed = try Self.check(own)
        #expect(failed.status != 0)
        #expect(failed.output.contains("1 warning(s)") && failed.output.contains("A.swift:3:9: warning: initialization"), "\(failed.output)")
        #expect(try Self.check("[1/1] Compiling\nBuild complete!\n").status == 0)
        #expect(try Self.check("/work/x/.build/checkouts/swift-nio/Sources/NIOCore/B.swift:1:1: warning: deprecated\n").status == 0)
    }

    @Test("scripts/build-args keeps what swift build takes and drops --filter and the other test options, with their values")
    func buildArguments() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.root.appendingPathComponent("scripts/build-args").path,
                             "--filter", "RenewalServiceTests", "-c", "release", "--parallel", "--skip=Slow", "-Xswiftc", "-DFOO",
                             "--num-workers", "2", "--xunit-output", "x.xml"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: data, as: UTF8.self) == "-c\nrelease\n-Xswiftc\n-DFOO\n")
        // scripts/test builds with those, feeds the build's output to the check, and tests with every option.
        let script = try String(contentsOf: Self.root.appendingPathComponent("scripts/test"), encoding: .utf8)
        #expect(script.contains(#"done < <(scripts/build-args "$@")"#))
        #expect(script.contains(#"swift build --build-tests ${build_args[@]+"${build_args[@]}"} 2>&1 | tee "$build_log""#))
        #expect(script.contains(#"scripts/check-build-log "$build_log""#))
        #expect(script.contains(#"swift test --skip-build "$@""#))
    }
}
