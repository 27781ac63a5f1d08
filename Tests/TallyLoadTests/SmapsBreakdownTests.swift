import Testing
@testable import TallyLoad

@Suite("smaps grouped by what the memory is")
struct SmapsBreakdownTests {
    static func mapping(_ range: String, _ permissions: String, _ path: String, rss: Int, pss: Int? = nil) -> String {
        "\(range) \(permissions) 00000000 fd:00 1234   \(path)\nSize: 100 kB\nRss:  \(rss) kB\nPss:  \(pss ?? rss) kB\nAnonymous: 0 kB\n"
    }

    @Test("each kind of mapping lands in its group; a stack sits above a small guard, an arena below its reserve")
    func groups() {
        let smaps = [
            Self.mapping("55d0a0000000-55d0a1000000", "r-xp", "/opt/tally/bin/tally", rss: 9000),
            Self.mapping("55d0a1000000-55d0a1100000", "rw-p", "/opt/tally/bin/tally", rss: 600),
            Self.mapping("55d0a2000000-55d0a2100000", "rw-p", "[heap]", rss: 20),
            Self.mapping("7f0000000000-7f0000400000", "rw-p", "", rss: 700),          // arena: used part
            Self.mapping("7f0000400000-7f0004000000", "---p", "", rss: 0),            // arena: reserve above it
            Self.mapping("7f1000000000-7f1000001000", "---p", "", rss: 0),            // guard page
            Self.mapping("7f1000001000-7f1000801000", "rw-p", "", rss: 40),           // thread stack
            Self.mapping("7f2000000000-7f2000500000", "r-xp", "/opt/swift/usr/lib/swift/linux/libswiftCore.so", rss: 5000),
            Self.mapping("7f2000500000-7f2000600000", "r-xp", "/opt/swift/usr/lib/swift/linux/libFoundation.so", rss: 4000),
            Self.mapping("7f2000600000-7f2002600000", "r--p", "/opt/swift/usr/lib/swift/linux/lib_FoundationICU.so", rss: 7000),
            Self.mapping("7f2002600000-7f2002700000", "r-xp", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", rss: 1200),
            Self.mapping("7f2002700000-7f2002800000", "r-xp", "/opt/swift/usr/lib/swift/linux/libdispatch.so", rss: 300),
            Self.mapping("7f2002800000-7f2002900000", "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", rss: 1500),
            Self.mapping("7ffd00000000-7ffd00021000", "rw-p", "[stack]", rss: 24),
            Self.mapping("7ffd00100000-7ffd00102000", "r-xp", "[vdso]", rss: 4),
        ].joined()
        let breakdown = SmapsBreakdown(smaps: smaps, executable: "/opt/tally/bin/tally")
        #expect(breakdown.kilobytes("binary") == 9600)
        #expect(breakdown.kilobytes("heap") == 20)
        #expect(breakdown.kilobytes("other anonymous") == 700)
        #expect(breakdown.kilobytes("thread stacks") == 64)
        #expect(breakdown.kilobytes("libswiftCore") == 5000)
        #expect(breakdown.kilobytes("Foundation and ICU") == 11000)
        #expect(breakdown.kilobytes("libsqlite3") == 1200)
        #expect(breakdown.kilobytes("other Swift libraries") == 300)
        #expect(breakdown.kilobytes("other libraries and files") == 1500)
        #expect(breakdown.kilobytes("kernel") == 4)
        #expect(breakdown.totalRSSKilobytes == 9600 + 20 + 700 + 64 + 5000 + 11000 + 1200 + 300 + 1500 + 4)
        #expect(breakdown.groups.first?.name == "Foundation and ICU")
        #expect(breakdown.groups.allSatisfy { SmapsBreakdown.names.contains($0.name) })
        #expect(breakdown.groups.first { $0.name == "binary" }?.mappings == 2)
    }

    @Test("this process's own smaps: every Rss line is in some group, and the test binary is in 'binary'")
    func ownSmaps() throws {
        let smaps = try #require(ProcFiles.read("smaps"))
        let rss = smaps.split(separator: "\n").filter { $0.hasPrefix("Rss:") }
            .compactMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }.reduce(0, +)
        let executable = BenchHost(label: "self", binary: "", root: "", threads: nil).resolvedExecutable(getpid())
        #expect(executable.hasPrefix("/"))
        let breakdown = SmapsBreakdown(smaps: smaps, executable: executable)
        #expect(breakdown.totalRSSKilobytes == rss)
        #expect(breakdown.kilobytes("binary") > 0)
    }
}

#if canImport(Glibc)
import Glibc
#endif
