import Foundation
import Testing

/// `tally bench` end to end with tiny durations: this binary against itself as the baseline, every measure.
/// Speed is not asserted; that every figure is there, and that the run saw no problem, is.
@Suite("CLI: tally bench", .serialized)
struct BenchCLITests {
    @Test("a short run against a baseline reports every figure for both hosts, with ratios and no problems")
    func everyFigure() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("bench", "--baseline", CLIRunner.binary, "--seconds", "0.3", "--connections", "1,2", "--scale", "3000",
                                 "--work-dir", cli.path("work"), "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let report = try result.json()
        #expect((report["problems"] as? [String])?.isEmpty == true, "\(report["problems"] ?? "")")
        #expect((report["signaturesPerSecondOneCore"] as? Double ?? 0) > 0)
        let hosts = try #require(report["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["label"] as? String } == ["this", "baseline"])
        for host in hosts {
            let label = host["label"] as? String ?? "?"
            let wire = try #require(host["wire"] as? [String: Any], "\(label)")
            for key in ["grantBytes", "grantHoldingCertificateBytes", "refusalHoldingCertificateBytes", "refusalBytes", "requestBytes"] {
                #expect((wire[key] as? Int ?? 0) > 100, "\(label) \(key)")
            }
            #expect((wire["grantCertificateCopies"] as? Int ?? 0) >= 1)
            #expect((host["knownClientsAfterSetup"] as? Int ?? 0) >= 25)

            let load = try #require(host["load"] as? [[String: Any]])
            let modes = Set(load.map { "\($0["mode"] as? String ?? "") \($0["connections"] as? Int ?? 0)" })
            #expect(modes == ["keep-alive 1", "keep-alive 2", "new connection 1", "new connection 2"], "\(label)")
            for run in load + [try #require(host["paced"] as? [String: Any])] {
                #expect((run["grants"] as? Int ?? 0) > 0, "\(label)")
                #expect(run["countCheck"] as? String == "ok")
                for key in ["activationsPerSecond", "p50Milliseconds", "p99Milliseconds", "maxMilliseconds", "hostCPUMicrosecondsPerGrant",
                            "hostCPUMicrosecondsPerGrantDuringLoad", "writeBytesPerGrant", "readWriteCallsPerGrant",
                            "driverCPUMicrosecondsPerRequest"] {
                    #expect((run[key] as? Double ?? 0) > 0, "\(label) \(run["mode"] ?? "") \(key)")
                }
                #expect((run["results"] as? [String: Int])?.keys.sorted() == ["0x00000000"])
            }
            #expect(((host["paced"] as? [String: Any])?["pacedRate"] as? Double ?? 0) > 0)

            let idle = try #require(host["idle"] as? [String: Any])
            #expect((idle["rssKilobytes"] as? Int ?? 0) > 1000)
            let groups = try #require((idle["smaps"] as? [String: Any])?["groups"] as? [[String: Any]])
            #expect(groups.contains { $0["name"] as? String == "binary" && ($0["rssKilobytes"] as? Int ?? 0) > 0 })

            let scale = try #require((host["scale"] as? [[String: Any]])?.first)
            #expect(scale["clients"] as? Int == 3000)
            #expect(scale["countCheck"] as? String == "ok")
            for key in ["fillSeconds", "execToListeningSeconds", "execToFirstCountedGrantSeconds"] {
                #expect((scale[key] as? Double ?? 0) > 0, "\(label) \(key)")
            }
            #expect((scale["execToFirstCountedGrantSeconds"] as? Double ?? 0) >= (scale["execToListeningSeconds"] as? Double ?? 1))
            #expect((scale["rssKilobytes"] as? Int ?? 0) > 1000)
        }
        let rows = try #require(report["rows"] as? [[String: Any]])
        let measures = Set(rows.compactMap { $0["measure"] as? String })
        for measure in ["wire: granted answer, HTTP included", "wire: refusal (C004F038) to a client holding the certificate", "idle RSS",
                        "idle RSS: binary", "keep-alive ×2: activations/s", "keep-alive ×2: activations/s ÷ (cores × signatures/s)",
                        "keep-alive ×1: host CPU per activation, until exit", "keep-alive ×2: disk bytes written per activation, until exit",
                        "new connection ×2: p99", "keep-alive ×2 paced at half: p99 (from when due)",
                        "3k known clients: exec to the first correctly counted grant", "3k known clients: host fill",
                        "3k known clients: RSS after that grant"] {
            #expect(measures.contains(measure), "\(measure)")
        }
        #expect(rows.contains { $0["ratio"] is Double })
        // The work directory was given, so it stays; the per-measure copies are gone.
        #expect(FileManager.default.fileExists(atPath: cli.path("work/this/template")))
    }

    @Test("the text report has the table with the ratio column and says there were no problems")
    func text() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("bench", "--baseline", CLIRunner.binary, "--seconds", "0.2", "--connections", "1", "--modes", "keepalive",
                                 "--measures", "load", "--work-dir", cli.path("work"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("this÷baseline"))
        #expect(result.stdout.contains("keep-alive ×1: host CPU per activation, until exit, µs"))
        #expect(result.stdout.contains("wire: granted answer, HTTP included, B"))
        #expect(result.stdout.contains("No problems"))
        #expect(!result.stdout.contains("new connection"))
        #expect(result.stderr.contains("bench: baseline: keep-alive ×1"))
    }

    @Test("--measures profile: the host's CPU under perf record, grouped, for both hosts")
    func profile() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("bench", "--baseline", CLIRunner.binary, "--seconds", "0.5", "--connections", "2", "--measures", "profile",
                                 "--work-dir", cli.path("work"), "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let hosts = try #require(try result.json()["hosts"] as? [[String: Any]])
        #expect(hosts.count == 2)
        for host in hosts {
            let profile = try #require(host["profile"] as? [String: Any], "\(host["label"] ?? "")")
            #expect((profile["samples"] as? Int ?? 0) > 10)
            let groups = try #require(profile["groups"] as? [[String: Any]])
            let total = groups.compactMap { $0["percent"] as? Double }.reduce(0, +)
            #expect(abs(total - 100) < 0.01)
            #expect(groups.contains { $0["name"] as? String == "signing (Ed25519, SHA-512)" })
        }
    }

    @Test("wrong options are clear errors", arguments: [
        (["--baseline", "/nonexistent/tally"], "not an executable"),
        (["--measures", "load,speed"], "--measures takes"),
        (["--connections", "0"], "--connections takes"),
        (["--modes", "fast"], "--modes takes"),
        (["--host-setting", "rate-limit"], "NAME=VALUE"),
    ])
    func wrongOptions(_ arguments: [String], _ message: String) throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run(["bench"] + arguments)
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("a baseline that is not a tally host fails with the command and its output")
    func notAHost() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("bench", "--baseline", "/bin/false", "--seconds", "0.1", "--measures", "load", "--work-dir", cli.path("work"))
        #expect(result.status == 1)
        #expect(result.stderr.contains("baseline: tally vendor init"), "\(result.stderr)")
    }
}
