#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped with wait4, so its resource usage at exit can be read
/// (Foundation's `Process` reaps its children itself and keeps the rusage).
public final class ChildProcess {
    public let pid: pid_t
    /// The read end of the child's stdout when it was captured through a pipe, else -1.
    public let stdout: Int32
    /// CLOCK_MONOTONIC seconds just before posix_spawn.
    public let spawnedAt: Double
    public private(set) var usage: ExitUsage?

    /// Starts `binary` with `arguments`. stdout goes to a pipe (`captureOutput`) or to `stdoutPath`; stderr to
    /// `stderrPath` (else /dev/null); stdin is /dev/null.
    public init(binary: String, arguments: [String], captureOutput: Bool, stdoutPath: String? = nil, stderrPath: String? = nil) throws(BenchError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if captureOutput {
            guard pipe(&pipeEnds) == 0 else { throw BenchError("pipe failed: errno \(errno)") }
            _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Signals as a fresh process has them, whatever this one blocks or ignores: the host must die of SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        spawnedAt = Clocks.monotonic()
        let result = posix_spawn(&child, binary, &actions, &attributes, argv, environ)
        if captureOutput { close(pipeEnds[1]) }
        guard result == 0 else {
            if captureOutput { close(pipeEnds[0]) }
            throw BenchError("could not start \(binary): \(String(cString: strerror(result)))")
        }
        pid = child
        stdout = pipeEnds[0]
    }

    deinit {
        if usage == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 10)
        }
        if stdout >= 0 { close(stdout) }
    }

    /// Reads the captured stdout up to the first newline, waiting at most `timeout` seconds; `nil` when the
    /// child closed it or the time ran out.
    public func readLine(timeout: Double) -> String? {
        var bytes: [UInt8] = []
        let deadline = Clocks.monotonic() + timeout
        var byte: UInt8 = 0
        while true {
            let left = deadline - Clocks.monotonic()
            guard left > 0 else { return nil }
            var poller = pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000) + 1)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = Glibc.read(stdout, &byte, 1)
            if count < 0, errno == EINTR { continue }
            guard count == 1 else { return nil }
            if byte == 10 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    public var isRunning: Bool { usage == nil && reap(options: WNOHANG) == nil }

    /// Waits for the child to exit, polling every millisecond for at most `timeout` seconds.
    @discardableResult
    public func wait(timeout: Double) -> ExitUsage? {
        if let usage { return usage }
        let deadline = Clocks.monotonic() + timeout
        while Clocks.monotonic() < deadline {
            if let usage = reap(options: WNOHANG) { return usage }
            usleep(1000)
        }
        return nil
    }

    /// Sends `signal`, then waits; a child still running after `timeout` is killed (and `nil` returned).
    public func stop(signal: Int32 = SIGTERM, timeout: Double = 60) -> ExitUsage? {
        if let usage { return usage }
        kill(pid, signal)
        if let usage = wait(timeout: timeout) { return usage }
        kill(pid, SIGKILL)
        wait(timeout: 10)
        return nil
    }

    func reap(options: Int32) -> ExitUsage? {
        var status: Int32 = 0
        var resources = rusage()
        let result = wait4(pid, &status, options, &resources)
        guard result == pid else { return nil }
        usage = ExitUsage(usage: resources, status: status)
        return usage
    }
}

/// A benchmark that could not run as asked: the message says what and why.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
