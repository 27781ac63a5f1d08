import Foundation

/// Where a host's CPU went, from `perf script` call chains of every sample: each sample goes to the group of the
/// first frame, from the leaf up, that names one (an allocation made for JSON counts as allocation; a memcpy in
/// JSON code as JSON; scheduling frames pass the sample on to what waited or woke).
public struct ProfileBreakdown: Sendable, Codable, Equatable {
    public struct Group: Sendable, Codable, Equatable {
        public var name: String
        public var samples: Int
        public var percent: Double
    }

    /// One leaf symbol's share of the samples.
    public struct Symbol: Sendable, Codable, Equatable {
        public var symbol: String
        public var percent: Double
    }

    public var samples: Int
    /// Largest first.
    public var groups: [Group]
    /// The leaf symbols with the most samples.
    public var topSymbols: [Symbol]

    public func percent(_ name: String) -> Double { groups.first { $0.name == name }?.percent ?? 0 }

    /// Groups and the fragments of (mangled) symbol names that put a frame in them, in the order a frame is tried.
    public static let rules: [(String, [String])] = [
        ("signing (Ed25519, SHA-512)", ["curve25519", "CURVE25519", "ED25519", "ed25519", "x25519", "sha512", "fe_mul", "fe_sq", "fe_loose",
                                        "fe_tobytes", "ge_p3", "ge_madd", "ge_sub", "ge_add", "ge_scalarmult", "x25519_sc_"]),
        ("allocation", ["malloc", "_int_free", "cfree", "__libc_free", "swift_allocObject", "swift_slowAlloc", "swift_deallocObject",
                        "swift_slowDealloc", "swift_deallocClassInstance", "swift_allocBox", "realloc", "tcache", "_swift_release_dealloc"]),
        ("reference counting", ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease",
                                "swift_unknownObjectRetain", "swift_unknownObjectRelease", "RefCounts"]),
        ("locks and wake-ups", ["futex", "pthread_mutex", "pthread_cond", "NSLock", "NSCondition", "lll_lock", "pthread_rwlock", "NIOLock",
                                "ConditionLock", "eventfd", "Mutex", "os_unfair_lock"]),
        ("store (SQLite, GRDB, fsync, file system)", ["sqlite3", "GRDB", "TallyStore", "fdatasync", "fsync", "ext4_", "jbd2", "blk_", "bio_",
                                                      "virtio_blk", "submit_bio", "pwrite", "pread", "iomap_"]),
        ("JSON and base64url", ["JSON", "Base64URL", "KeyedEncodingContainer", "KeyedDecodingContainer", "Codable"]),
        ("HTTP and NIO", ["NIO", "HTTP", "llhttp", "ByteBuffer", "epoll"]),
        ("kernel TCP", ["tcp_", "ip_", "skb", "__sys_sendto", "__sys_recvfrom", "sock_", "inet_", "__netif", "net_rx", "loopback",
                        "__sys_accept", "__sys_connect", "sys_sendmsg", "sys_recvmsg"]),
        ("Swift runtime (casts, metadata, exclusivity)", ["swift_conformsToProtocol", "swift_getGenericMetadata", "swift_dynamicCast",
                                                          "swift_getWitnessTable", "swift_beginAccess", "swift_endAccess", "AccessSet",
                                                          "swift_getTypeByMangledName", "swift_checkMetadataState"]),
        ("Tally (policy, tokens, activation)", ["Tally"]),
    ]

    /// Reads `perf script -F tid,ip,sym,dso` output: a header line per sample, then one tab-indented frame per line.
    public init(perfScript: String, topCount: Int = 15) {
        var counts: [String: Int] = [:]
        var leaves: [String: Int] = [:]
        var samples = 0
        var frames: [Substring] = []
        func finish() {
            guard !frames.isEmpty else { return }
            samples += 1
            leaves[String(frames[0]), default: 0] += 1
            counts[Self.group(of: frames), default: 0] += 1
            frames.removeAll(keepingCapacity: true)
        }
        for line in perfScript.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.first == "\t" {
                if let symbol = Self.symbol(of: line) { frames.append(symbol) }
            } else {
                finish()
            }
        }
        finish()
        let total = Double(max(samples, 1))
        self.samples = samples
        groups = counts.map { Group(name: $0.key, samples: $0.value, percent: 100 * Double($0.value) / total) }
            .sorted { ($0.samples, $1.name) > ($1.samples, $0.name) }
        topSymbols = leaves.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(topCount)
            .map { Symbol(symbol: $0.key, percent: 100 * Double($0.value) / total) }
    }

    /// "\tffffffff81415ce4 __rcu_read_unlock+0x14 ([kernel.kallsyms])" → "__rcu_read_unlock".
    static func symbol(of line: Substring) -> Substring? {
        var text = line.drop { $0 == "\t" || $0 == " " }
        guard let space = text.firstIndex(of: " ") else { return nil }
        text = text[text.index(after: space)...]
        if let dso = text.range(of: " (", options: .backwards) { text = text[..<dso.lowerBound] }
        if let plus = text.range(of: "+0x", options: .backwards) { text = text[..<plus.lowerBound] }
        return text.isEmpty ? nil : text
    }

    static func group(of frames: [Substring]) -> String {
        for frame in frames {
            for (name, fragments) in rules where fragments.contains(where: { frame.contains($0) }) { return name }
        }
        return frames.first.map { $0.hasPrefix("[unknown]") ? "unknown" : "other" } ?? "other"
    }
}
