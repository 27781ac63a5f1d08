import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs programs with `posix_spawn` and `waitpid`, every wait bounded. (Foundation's `Process.waitUntilExit`
/// hung for good after `runuser … pg_ctl start`, whose server keeps the inherited pipes open: here the output
/// goes to a file, so nothing waits on a pipe.)
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// What a program did: its exit status and what it wrote (stdout and stderr together).
    public struct Outcome: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs `arguments[0]` (a full path) and waits at most `timeout` seconds; a program still running then is
    /// killed and reported as a failure.
    @discardableResult
    public static func run(_ arguments: [String], timeout: Double = 20, environment: [String: String]? = nil) throws -> Outcome {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tally-spawn-\(UUID().uuidString).log").path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process is inherited: a PostgreSQL server started here would otherwise hold the
        // pipes of programs other tests run at the same time (Foundation's Process), and their readers would never
        // see the end of their output.
        // (glibc's addclosefrom is not visible to Swift: each descriptor open now is closed in the child.)
        for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(arguments) { argv in
            withCStrings(env) { envp in posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) }
        }
        guard spawned == 0 else { throw Failure("could not start \(arguments[0]): \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { throw Failure("waitpid for \(arguments[0]) failed: \(String(cString: strerror(errno)))") }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw Failure("\(arguments.joined(separator: " ")) did not finish within \(timeout) s: \(output)")
            }
            usleep(10_000)
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exit, output: output)
    }

    /// Runs and throws unless the program exits 0.
    @discardableResult
    public static func check(_ arguments: [String], timeout: Double = 20) throws -> String {
        let outcome = try run(arguments, timeout: timeout)
        guard outcome.status == 0 else {
            throw Failure("\(arguments.joined(separator: " ")) exited \(outcome.status): \(outcome.output)")
        }
        return outcome.output
    }

    /// This process's open file descriptors (`/proc/self/fd`).
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
