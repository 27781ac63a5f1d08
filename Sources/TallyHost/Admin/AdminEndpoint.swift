import Foundation
import TallyCore
import TallyFiles

#if canImport(Glibc)
import Glibc
#endif

/// `admin.json` in the host's state directory while the host serves: where its admin interface listens, so
/// `tally host status|clients|events` can ask the running host (also when it was started on port 0). Removed at
/// shutdown. A host killed outright leaves it behind, and its address may since belong to another program, so
/// the command line uses it only while ``isServingHost(_:)`` says its `pid` is a running `tally … serve`:
/// the admin token is never sent to a stale address.
public struct AdminEndpoint: Codable, Sendable, Equatable {
    public static let fileName = "admin.json"

    public var address: String
    public var tokenRequired: Bool
    public var pid: Int32

    public init(address: String, tokenRequired: Bool, pid: Int32 = ProcessInfo.processInfo.processIdentifier) {
        self.address = address
        self.tokenRequired = tokenRequired
        self.pid = pid
    }

    public static func read(from directory: StateDirectory) -> AdminEndpoint? {
        guard directory.exists(fileName) else { return nil }
        return try? directory.readJSON(AdminEndpoint.self, from: fileName)
    }

    /// Whether `pid` is alive and a `tally … serve` process: it exists (`kill(pid, 0)`; EPERM when it runs as
    /// another user, such as the host's own), and on Linux its `/proc/PID/cmdline` has an argument naming a
    /// `tally` program followed by `serve`. Elsewhere only the first part is checked.
    public static func isServingHost(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        let fd = open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = Glibc.read(fd, &chunk, chunk.count)
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return isServeCommandLine(bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) })
        #else
        return true
        #endif
    }

    /// `…/tally host serve …`, also through an interpreter (`sh …/tally host serve`).
    static func isServeCommandLine(_ arguments: [String]) -> Bool {
        guard let program = arguments.firstIndex(where: { $0.split(separator: "/").last?.contains("tally") == true }) else { return false }
        return arguments[(program + 1)...].contains("serve")
    }

    func write(to directory: StateDirectory) throws {
        try directory.writeJSON(self, to: AdminEndpoint.fileName)
    }

    static func remove(from directory: StateDirectory) {
        try? FileManager.default.removeItem(at: directory.file(fileName))
    }
}
