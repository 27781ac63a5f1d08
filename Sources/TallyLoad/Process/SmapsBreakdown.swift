/// Resident memory of a process grouped by what it is, from /proc/PID/smaps: the executable, the Swift runtime,
/// Foundation and ICU, SQLite, other libraries, the heap, thread stacks, and other anonymous memory.
public struct SmapsBreakdown: Sendable, Codable, Equatable {
    /// One group's resident and proportional set sizes, in KiB, and how many mappings it has.
    public struct Group: Sendable, Codable, Equatable {
        public var name: String
        public var rssKilobytes: Int
        public var pssKilobytes: Int
        public var mappings: Int
    }

    /// Largest first.
    public var groups: [Group]
    public var totalRSSKilobytes: Int { groups.reduce(0) { $0 + $1.rssKilobytes } }

    public func kilobytes(_ name: String) -> Int { groups.first { $0.name == name }?.rssKilobytes ?? 0 }

    /// The group names, in the order reports list them.
    public static let names = [
        "binary", "libswiftCore", "Foundation and ICU", "libsqlite3", "other Swift libraries", "other libraries and files",
        "heap", "thread stacks", "other anonymous", "kernel",
    ]

    /// One mapping of smaps: its header line and its sizes.
    struct Mapping {
        var start: UInt64
        var end: UInt64
        var permissions: Substring
        var path: Substring
        var rss = 0
        var pss = 0
    }

    /// Groups `smaps` (the text of /proc/PID/smaps). `executable` is the path of the process's binary.
    public init(smaps: String, executable: String) {
        let mappings = Self.mappings(smaps)
        var totals: [String: Group] = [:]
        for (index, mapping) in mappings.enumerated() {
            let name = Self.group(of: mapping, previous: index > 0 ? mappings[index - 1] : nil, executable: executable)
            var group = totals[name] ?? Group(name: name, rssKilobytes: 0, pssKilobytes: 0, mappings: 0)
            group.rssKilobytes += mapping.rss
            group.pssKilobytes += mapping.pss
            group.mappings += 1
            totals[name] = group
        }
        groups = totals.values.sorted { ($0.rssKilobytes, $1.name) > ($1.rssKilobytes, $0.name) }
    }

    static func mappings(_ smaps: String) -> [Mapping] {
        var result: [Mapping] = []
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
               let start = UInt64(fields[0][..<dash], radix: 16), let end = UInt64(fields[0][fields[0].index(after: dash)...], radix: 16) {
                result.append(Mapping(start: start, end: end, permissions: fields[1], path: fields.count > 5 ? fields[5].trimmingSpaces : ""))
            } else if fields.count >= 2, !result.isEmpty, let value = Int(fields[1]) {
                if fields[0] == "Rss:" { result[result.count - 1].rss = value }
                if fields[0] == "Pss:" { result[result.count - 1].pss = value }
            }
        }
        return result
    }

    /// Which group a mapping is in. A thread's stack is an anonymous read-write mapping right above its guard
    /// page (an anonymous `---p` mapping of at most 64 KiB); malloc's arenas put their `---p` reserve above
    /// their used part instead, so they fall into "other anonymous".
    static func group(of mapping: Mapping, previous: Mapping?, executable: String) -> String {
        let path = mapping.path
        if !path.isEmpty, path == executable { return "binary" }
        if path.hasPrefix("/") {
            let file = path.split(separator: "/").last ?? path
            if file.hasPrefix("libswiftCore.") { return "libswiftCore" }
            if file.contains("Foundation") || file.hasPrefix("libicu") || file.contains("ICU") { return "Foundation and ICU" }
            if file.hasPrefix("libsqlite3") { return "libsqlite3" }
            if file.hasPrefix("libswift") || file.hasPrefix("lib_swift") || file.hasPrefix("libdispatch") || file.hasPrefix("libBlocksRuntime") {
                return "other Swift libraries"
            }
            return "other libraries and files"
        }
        if path == "[heap]" { return "heap" }
        if path == "[stack]" || path.contains("stack") { return "thread stacks" }
        if path.isEmpty || path.hasPrefix("[anon") {
            if mapping.permissions.hasPrefix("rw"), let previous, previous.path.isEmpty, previous.end == mapping.start,
               previous.permissions.hasPrefix("---"), previous.end - previous.start <= 64 * 1024 {
                return "thread stacks"
            }
            return "other anonymous"
        }
        return "kernel"
    }
}
