import Foundation
import Testing
@testable import TallyLoad

#if canImport(Glibc)
import Glibc
#endif

/// The /proc readers and the wait4 usage, on real processes: this one, and children started with posix_spawn.
@Suite("/proc and wait4 readers", .serialized)
struct ProcessReadersTests {
    /// A directory beside the build, on the disk the checkout is on (a temporary directory may be tmpfs, where
    /// nothing counts as written to storage).
    static let diskDirectory: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent(".build/tally-load-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    @Test("stat: utime + stime after a command name with spaces and parentheses")
    func statText() {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let text = "4242 (tally (host) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 12345 100000 2000 18446744073709551615\n"
        #expect(ProcFiles.cpuSeconds(statText: text) == 300 / ticks)
        #expect(ProcFiles.cpuSeconds(statText: "garbage") == nil)
    }

    @Test("/proc/stat: the steal time is the eighth number of the cpu line, in clock ticks; this machine's is read")
    func stealTime() throws {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let text = "cpu  2135678 539 190631 7409902 119074 0 41015 4465 0 0\ncpu0 951290 237 78273 3888782 9443 0 25190 2218 0 0\n"
        #expect(MachineStalls.stealSeconds(procStat: text) == 4465 / ticks)
        #expect(MachineStalls.stealSeconds(procStat: "cpu0 1 2 3\n") == nil)
        #expect(MachineStalls.stealSeconds(procStat: "cpu  1 2 3\n") == nil)
        let now = try #require(MachineStalls.stealSecondsNow())
        #expect(now >= 0)
    }

    @Test("stat of this process grows with the CPU it burns")
    func statOfSelf() throws {
        let before = try #require(ProcFiles.cpuSeconds(statText: ProcFiles.read("stat") ?? ""))
        let start = Clocks.threadCPU()
        var x: UInt64 = 1
        while Clocks.threadCPU() - start < 0.05 { x = x &* 6364136223846793005 &+ 1 }
        #expect(x != 0)
        let after = try #require(ProcFiles.cpuSeconds(statText: ProcFiles.read("stat") ?? ""))
        #expect(after > before)
    }

    @Test("io and status texts")
    func ioAndStatus() throws {
        let io = try #require(ProcFiles.io(text: "rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n"))
        #expect(io == ProcFiles.IO(writeBytes: 8192, readBytes: 4096, readCalls: 3, writeCalls: 4))
        #expect(ProcFiles.io(text: "rchar: 10\n") == nil)
        let status = "Name:\ttally\nVmHWM:\t   40000 kB\nVmRSS:\t   35936 kB\nThreads:\t8\n"
        #expect(ProcFiles.statusKilobytes("VmRSS", text: status) == 35936)
        #expect(ProcFiles.statusKilobytes("VmHWM", text: status) == 40000)
        #expect(ProcFiles.statusKilobytes("VmSwap", text: status) == nil)
        let own = try #require(ProcFiles.statusKilobytes("VmRSS", text: ProcFiles.read("status") ?? ""))
        #expect(own > 1000)
    }

    @Test("write_bytes of this process grows by what it writes and syncs to a file on disk")
    func writeBytesOfSelf() throws {
        let before = try #require(ProcFiles.io(text: ProcFiles.read("io") ?? ""))
        let path = Self.diskDirectory + "/self-write"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let block = [UInt8](repeating: 7, count: 1 << 20)
        #expect(write(fd, block, block.count) == block.count)
        #expect(fsync(fd) == 0)
        close(fd)
        unlink(path)
        let after = try #require(ProcFiles.io(text: ProcFiles.read("io") ?? ""))
        #expect(after.writeBytes - before.writeBytes >= 1 << 20)
        #expect(after.writeCalls > before.writeCalls)
    }

    @Test("wait4: a child's written bytes and exit code; its CPU at exit is at least what /proc showed while it ran")
    func childUsage() throws {
        let file = Self.diskDirectory + "/child-write"
        let writer = try ChildProcess(binary: "/bin/sh", arguments: ["-c", "dd if=/dev/zero of=\(file) bs=1048576 count=2 conv=fsync 2>/dev/null; exit 3"],
                                      captureOutput: false)
        let written = try #require(writer.wait(timeout: 60))
        unlink(file)
        #expect(written.exitCode == 3)
        #expect(written.signal == nil)
        #expect(written.writeBytes >= 2 << 20)

        let busy = try ChildProcess(binary: "/bin/sh", arguments: ["-c", "while :; do :; done"], captureOutput: false)
        var during = 0.0
        while during == 0 { during = ProcFiles.cpuSeconds(statText: ProcFiles.read("stat", pid: busy.pid) ?? "") ?? 0 }
        let stopped = try #require(busy.stop(signal: SIGTERM, timeout: 30))
        #expect(stopped.signal == SIGTERM)
        #expect(stopped.exitCode == nil)
        #expect(stopped.cpuSeconds >= during)
        #expect(!busy.isRunning)
    }

    @Test("a child's stdout is read line by line through the pipe")
    func childOutput() throws {
        let child = try ChildProcess(binary: "/bin/sh", arguments: ["-c", "echo '{\"port\": \"4242\"}'; echo second"], captureOutput: true)
        #expect(child.readLine(timeout: 30) == "{\"port\": \"4242\"}")
        #expect(child.readLine(timeout: 30) == "second")
        #expect(child.readLine(timeout: 30) == nil)
        #expect(child.wait(timeout: 30)?.exitCode == 0)
        #expect(BenchHost.port(fromServeLine: "{\"port\": \"4242\"}") == 4242)
        #expect(BenchHost.port(fromServeLine: "{\"listening\":\"127.0.0.1:99\",\"port\":99}") == 99)
        #expect(BenchHost.port(fromServeLine: "listening on 127.0.0.1:5150") == 5150)
    }

    @Test("a binary that does not exist is an error, not a child")
    func missingBinary() {
        #expect(throws: BenchError.self) { try ChildProcess(binary: "/nonexistent/tally", arguments: [], captureOutput: true) }
    }
}
