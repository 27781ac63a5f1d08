import Foundation
import Testing

@Suite("CLI: tally explain")
struct ExplainCLITests {
    @Test("every form of a code gives the same explanation", arguments: ["0xC004F038", "C004F038", "c004f038", "3221549112", "-1073418184"])
    func forms(_ form: String) throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("explain", form, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["code"] as? String == "0xC004F038")
        #expect(json["name"] as? String == "countTooLow")
        #expect((json["remedy"] as? String)?.isEmpty == false)
    }

    @Test("a negative decimal after `--`, the usual way to pass one, is the same code; so is one with --json before it",
          arguments: [["--", "-1073418184"], ["--json", "--", "-1073418184"], ["--", "0xC004F038"]])
    func afterDoubleDash(_ arguments: [String]) throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run(["explain"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0xC004F038"), "\(result.stdout)")
        #expect(result.stdout.contains("countTooLow"), "\(result.stdout)")
        // Two codes after `--` are still refused.
        let two = try cli.run("explain", "--", "-1073418184", "C004F038")
        #expect(two.status != 0)
        #expect(two.stderr.contains("give one result code"))
    }

    @Test("C004F038 names the default thresholds, 25 for client class and 5 for server class, and where the host's own are shown")
    func countTooLowNamesThresholds() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("explain", "C004F038", "--json")
        let meaning = try #require(try result.json()["meaning"] as? String)
        #expect(meaning.contains("25 for client class"), "\(meaning)")
        #expect(meaning.contains("5 for server class"), "\(meaning)")
        #expect(meaning.contains("tally host status"), "\(meaning)")
    }

    @Test("every code of docs/ARCHITECTURE.md is explained with a remedy",
          arguments: ["C004F038", "C004F039", "C004F041", "C004F042", "C004F050", "C004F074", "C004F06C", "8007267C",
                      "8007232A", "8007232B", "8007251D", "C004C008", "C004C003", "C004D307"])
    func designCodes(_ code: String) throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("explain", code)
        #expect(result.status == 0)
        #expect(result.stdout.contains("0x" + code))
        #expect(result.stdout.contains("Remedy:"))
    }

    @Test("an unknown or malformed code says so and exits non-zero")
    func unknown() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let unknown = try cli.run("explain", "0xC004FFFF")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("not a code Tally knows"))
        let garbage = try cli.run("explain", "banana")
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("not a result code"))
    }
}
