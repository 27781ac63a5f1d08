#if canImport(Glibc)
import Glibc
#endif

/// Readers of a process's /proc files (proc(5)): its CPU time, its I/O counters and its memory.
public enum ProcFiles {
    /// utime + stime from /proc/PID/stat, in seconds: every thread of the process, live or exited.
    public static func cpuSeconds(statText: String) -> Double? {
        // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
        guard let close = statText.lastIndex(of: ")") else { return nil }
        let fields = statText[statText.index(after: close)...].split(separator: " ")
        // After the name: state is field 3 of proc(5), utime 14 and stime 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The counters of /proc/PID/io.
    public struct IO: Sendable, Equatable {
        /// Bytes the process caused to be sent to storage, counted when pages are dirtied (page-granular).
        public var writeBytes: Int
        public var readBytes: Int
        /// read-like and write-like system calls.
        public var readCalls: Int
        public var writeCalls: Int
    }

    public static func io(text: String) -> IO? {
        var values: [Substring: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1].trimmingSpaces) else { continue }
            values[parts[0]] = value
        }
        guard let write = values["write_bytes"], let read = values["read_bytes"], let syscr = values["syscr"], let syscw = values["syscw"] else {
            return nil
        }
        return IO(writeBytes: write, readBytes: read, readCalls: syscr, writeCalls: syscw)
    }

    /// A `kB` line of /proc/PID/status, such as VmRSS or VmHWM, in KiB.
    public static func statusKilobytes(_ name: String, text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).trimmingSpaces.split(separator: " ").first ?? "")
        }
        return nil
    }

    /// The contents of /proc/PID/NAME (or /proc/self/NAME), or `nil` when it cannot be read.
    public static func read(_ name: String, pid: Int32? = nil) -> String? {
        read(path: "/proc/" + (pid.map { String($0) } ?? "self") + "/" + name)
    }

    /// The contents of a file of /proc (read in chunks: its size is not known ahead), or `nil`.
    static func read(path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
