import Foundation
import TallyCore
import TallyFiles

/// `admin.json` in the host's state directory while the host serves: where its admin interface listens, so
/// `tally host status|clients|events` can ask the running host (also when it was started on port 0). Removed at
/// shutdown; a stale file from a killed host only costs one refused connection.
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

    func write(to directory: StateDirectory) throws {
        try directory.writeJSON(self, to: AdminEndpoint.fileName)
    }

    static func remove(from directory: StateDirectory) {
        try? FileManager.default.removeItem(at: directory.file(fileName))
    }
}
