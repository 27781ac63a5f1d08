import Foundation
import TallyCore
import TallyFiles

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The client's event log: one JSON object per line in `events.jsonl`, appended under the state directory's
/// lock. Kept to the latest ``maximumBytes`` or so by dropping the oldest half when it grows past that.
struct ClientEventLog {
    let directory: StateDirectory
    static let maximumBytes = 1 << 20

    var url: URL { directory.file(TallyClient.eventsFile) }

    /// Appends one event. Losing an event must not fail an activation, so write errors are ignored.
    func append(_ event: TallyEvent) {
        guard var line = try? TallyJSON.encode(event) else { return }
        line.append(0x0A)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        var info = stat()
        let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        close(fd)
        if size > Self.maximumBytes { trim() }
    }

    private func trim() {
        guard let data = try? Data(contentsOf: url) else { return }
        let lines = data.split(separator: 0x0A)
        let kept = lines.suffix(lines.count / 2)
        var out = Data()
        for line in kept {
            out.append(line)
            out.append(0x0A)
        }
        try? AtomicFile.write(out, to: url)
    }

    /// Every event kept, oldest first. A line cut short by a crash is skipped.
    func read() -> [TallyEvent] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? TallyJSON.decode(TallyEvent.self, from: Data($0)) }
    }
}

extension TallyClient {
    /// The client's events (12288 request sent, 12289 response processed), oldest first.
    public func events() throws(TallyError) -> [TallyEvent] {
        try locked { () throws(TallyError) -> [TallyEvent] in ClientEventLog(directory: directory).read() }
    }
}
