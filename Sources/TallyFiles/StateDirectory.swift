import Foundation
import TallyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A state directory (vendor, host or client): created 0700 (an existing one is tightened to 0700), locked while
/// written, files written atomically, secrets 0600 and refused when their mode lets others read them.
public struct StateDirectory: Sendable {
    public let url: URL

    public init(_ path: String) {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    /// Creates the directory (and parents) with mode 0700 if it is missing.
    ///
    /// An existing directory whose mode lets group or others in (any of 0077) is tightened to 0700, as if Tally
    /// had created it: nobody else may list, read or replace the state. A shared directory with the sticky bit
    /// (such as /tmp) is refused rather than changed, and so is one whose mode cannot be changed (another user's).
    public func create() throws(TallyError) {
        let path = url.path
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw TallyError(.usageError, "\(path) exists and is not a directory") }
            let mode = info.st_mode & 0o7777
            guard mode & 0o077 != 0 else { return }
            let shown = String(mode, radix: 8)
            guard mode & S_ISVTX == 0 else {
                throw TallyError(.accessDenied, "\(path) is a shared directory (mode \(shown), sticky bit) and cannot be a state directory, which must be private (0700)",
                                 remedy: "Give a directory of its own, e.g. `--state-dir \(url.appendingPathComponent("tally").path)`; Tally creates it with mode 0700.")
            }
            guard chmod(path, 0o700) == 0 else {
                throw TallyError(.accessDenied, "\(path) may be read by other users (mode \(shown)) and could not be made private: \(String(cString: strerror(errno)))",
                                 remedy: "Run `chmod 700 \(path)` as its owner, or give a directory of this user's own.")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TallyError(.accessDenied, "could not create the state directory \(path): \(error.localizedDescription)")
        }
    }

    /// Runs `body` holding an exclusive lock on the directory (`flock` on `.lock`), so two processes never
    /// interleave their writes.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try create()
        let path = file(".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AtomicFile.posixError("open the lock file \(path)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw AtomicFile.posixError("lock \(path)") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    public func read(_ name: String) throws(TallyError) -> Data {
        do {
            return try Data(contentsOf: file(name))
        } catch {
            if !exists(name) {
                throw TallyError(.notInstalled, "\(file(name).path) does not exist")
            }
            throw TallyError(.stateUnreadable, "could not read \(file(name).path): \(error.localizedDescription)")
        }
    }

    public func write(_ data: Data, to name: String) throws(TallyError) {
        try create()
        try AtomicFile.write(data, to: file(name), mode: 0o644)
    }

    /// Writes a secret (a private key, a host key) with mode 0600.
    public func writeSecret(_ data: Data, to name: String) throws(TallyError) {
        try create()
        try AtomicFile.write(data, to: file(name), mode: 0o600)
    }

    /// Reads a secret, refusing one that group or others may read (as ssh does with private keys).
    public func readSecret(_ name: String) throws(TallyError) -> Data {
        try requirePrivate(name)
        return try read(name)
    }

    /// Refuses a secret that group or others may read or write (any of mode 0077); a missing file passes. The
    /// decision is the file's mode, not whether this process could be refused (root reads everything).
    public func requirePrivate(_ name: String) throws(TallyError) {
        let path = file(name).path
        var info = stat()
        if stat(path, &info) == 0, let problem = StateDirectory.secretModeProblem(info.st_mode) {
            throw TallyError(.accessDenied, "\(path) \(problem) (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             remedy: "Run `chmod 600 \(path)`; if others could read it, treat the key as stolen and replace it.")
        }
    }

    /// What is wrong with a secret file's mode, if anything.
    public static func secretModeProblem(_ mode: mode_t) -> String? {
        mode & 0o077 == 0 ? nil : "may be read by other users"
    }

    public func readJSON<T: Decodable>(_ type: T.Type, from name: String) throws(TallyError) -> T {
        let data = try read(name)
        do {
            return try TallyJSON.decode(type, from: data)
        } catch {
            throw TallyError(.stateUnreadable, "\(file(name).path) is corrupt: \(error)")
        }
    }

    public func writeJSON<T: Encodable>(_ value: T, to name: String, secret: Bool = false) throws(TallyError) {
        let data: Data
        do {
            data = try TallyJSON.encode(value, pretty: true)
        } catch {
            throw TallyError(.stateUnreadable, "could not encode \(name): \(error)")
        }
        if secret { try writeSecret(data, to: name) } else { try write(data, to: name) }
    }
}
