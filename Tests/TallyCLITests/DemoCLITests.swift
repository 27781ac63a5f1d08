import Foundation
import Testing

@Suite("CLI: tally demo", .serialized)
struct DemoCLITests {
    @Test("the demo shows 24 refusals with the count, the 25th activated, then everyone licensed, and stops cleanly")
    func demo() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("demo")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let refusals = lines.filter { $0.contains("0xC004F038") && $0.hasPrefix("pc-") }
        #expect(refusals.count == 24)
        for n in 1...24 {
            #expect(refusals.contains { $0.hasPrefix(String(format: "pc-%02d", n)) && $0.contains("count \(n)/25") })
        }
        #expect(lines.contains { $0.hasPrefix("pc-25  0x00000000  count 25/25  activated") })
        #expect(lines.filter { $0.contains("0x00000000") && $0.hasPrefix("pc-") }.count == 30)
        #expect(result.stdout.contains("client: 30 of 25 machines"))
        #expect(result.stdout.contains("licensed machines: 30 of 30"))
    }
}
