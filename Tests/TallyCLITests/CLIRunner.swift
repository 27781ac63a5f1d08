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

    /// Another machine for `tally`: the binary runs in a mount namespace of its own (`unshare --mount`; the tests run
    /// as root) where `/etc/machine-id` is a file holding `id`, and `/etc/tally` is `etcTally` (an empty directory by
    /// default, so a profile installed on this machine never reaches a test). That is what a machine is to the
    /// shipped binary: no variable makes it another.
    struct Machine {
        var id: String
        /// A directory to show as /etc/tally, e.g. one holding client-profile.json.
        var etcTally: String? = nil
    }

    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], machine: Machine? = nil) throws -> Result {
        let process = Process()
        if let machine {
            let idFile = path("machine-id-\(machine.id)")
            try Data((machine.id + "\n").utf8).write(to: URL(fileURLWithPath: idFile))
            let emptyEtc = path("etc-tally-empty")
            try FileManager.default.createDirectory(atPath: emptyEtc, withIntermediateDirectories: true)
            // The mount point: the directory the packaged profile lives in (created empty if this machine has none).
            try FileManager.default.createDirectory(atPath: "/etc/tally", withIntermediateDirectories: true)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                 #"mount --bind "$0" /etc/machine-id && mount --bind "$1" /etc/tally && shift && exec "$@""#,
                                 idFile, machine.etcTally ?? emptyEtc, CLIRunner.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
            process.arguments = arguments
        }
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
