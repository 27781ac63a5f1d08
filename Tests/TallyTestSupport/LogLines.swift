import Foundation
import Logging

/// The log lines of one logger ("level: message"), for tests that check what was logged, and how often.
public final class LogLines: LogHandler, @unchecked Sendable {
    // @unchecked: `lines` is guarded by `lock`; the handler's own properties are set before use.
    private let lock = NSLock()
    private var lines: [String] = []
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        lock.withLock { lines.append("\(event.level): \(event.message)") }
    }

    public func logger(_ label: String) -> Logger { Logger(label: label) { _ in self } }
    public var all: [String] { lock.withLock { lines } }
}
