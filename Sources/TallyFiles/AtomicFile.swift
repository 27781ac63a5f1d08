import Foundation
import TallyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees the old content or the new, never a mix: write a temporary file beside
/// the target, fsync it, rename it over the target, fsync the directory.
public enum AtomicFile {
    /// Writes `data` to `url` with `mode` (0600 for secrets).
    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o644) throws(TallyError) {
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw posixError("create \(temporary)") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        // The mode given to open() is filtered by the umask: set it exactly.
        guard fchmod(fd, mode) == 0 else { close(fd); throw posixError("set the mode of \(temporary)") }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        guard written, fsync(fd) == 0 else {
            let error = posixError("write \(temporary)")
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, url.path) == 0 else { throw posixError("rename \(temporary) to \(url.path)") }
        ok = true
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    static func posixError(_ action: String) -> TallyError {
        let code = errno
        let reason = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM, EROFS:
            return TallyError(.accessDenied, "could not \(action): \(reason)")
        default:
            return TallyError(.stateUnreadable, "could not \(action): \(reason)",
                              remedy: code == ENOSPC ? "Free disk space and try again; nothing was changed." : nil)
        }
    }
}
