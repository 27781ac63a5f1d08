import Foundation

/// Runs the built `tally` binary in a temporary directory, as a user would.
struct CLIRunner {
    let workDirectory: URL

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// stdout parsed as one JSON object.
        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            guard let dictionary = object as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
            return dictionary
        }
    }

    init() {
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { workDirectory.appendingPathComponent(name).path }

    /// The `tally` binary: $TALLY_BIN, else beside the test bundle, else in the package's .build/debug.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["TALLY_BIN"] { return path }
        let besideBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/tally").path
    }()

    @discardableResult
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = arguments
        process.currentDirectoryURL = workDirectory
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = workDirectory.path
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so a large output cannot block the child.
        let errData = DispatchQueue.global().sync { () -> Data in
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            return outData + Data([0]) + errData
        }
        process.waitUntilExit()
        let split = errData.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        return Result(status: process.terminationStatus, stdout: String(decoding: split[0], as: UTF8.self),
                      stderr: String(decoding: split.count > 1 ? split[1] : Data(), as: UTF8.self))
    }

    func cleanUp() { try? FileManager.default.removeItem(at: workDirectory) }
}
