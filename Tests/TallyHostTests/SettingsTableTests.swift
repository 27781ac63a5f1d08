import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// The settings table as values and files: every row through `set`, `settings.json` and the reload's change,
/// and what a hand-edited file may not do.
@Suite("Host settings table")
struct SettingsTableTests {
    static func directory() -> (TemporaryDirectory, StateDirectory) {
        let temp = TemporaryDirectory()
        return (temp, StateDirectory(temp.path("h")))
    }

    /// Settings with every row at its example value.
    static func allExamples() throws -> HostSettings {
        var settings = HostSettings()
        for setting in HostSettings.table { try settings.set(setting.name, to: setting.example) }
        return settings
    }

    /// The JSON object in `settings.json`.
    static func fileObject(_ directory: StateDirectory) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("settings.json"))) as? [String: Any])
    }

    @Test("names and file keys are unique; every example is valid, differs from the default and shows as given")
    func rows() throws {
        #expect(Set(HostSettings.table.map(\.name)).count == HostSettings.table.count)
        #expect(Set(HostSettings.table.map(\.key)).count == HostSettings.table.count)
        for setting in HostSettings.table {
            var settings = HostSettings()
            try settings.set(setting.name, to: setting.example)
            #expect(setting.value(in: settings) == setting.example, "\(setting.name)")
            #expect(setting.example != setting.defaultValue, "\(setting.name): its example is its default")
            #expect(setting.changed(from: HostSettings(), to: settings), "\(setting.name)")
            // Only this row changed.
            #expect(HostSettings.table.filter { $0.changed(from: HostSettings(), to: settings) }.map(\.name) == [setting.name])
            // The default itself is a value `set` takes.
            try settings.set(setting.name, to: setting.defaultValue)
            #expect(settings == HostSettings(), "\(setting.name): its default does not parse back")
        }
    }

    @Test("every setting round-trips through set, settings.json and load; the file has it under its key")
    func fileRoundTrip() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        for setting in HostSettings.table {
            var settings = try HostSettings.load(from: directory, validating: false)
            try settings.set(setting.name, to: setting.example)
            try settings.save(to: directory)
            let loaded = try HostSettings.load(from: directory)
            #expect(setting.value(in: loaded) == setting.example, "\(setting.name)")
            #expect(try Self.fileObject(directory)[setting.key] != nil, "\(setting.name) is not under \(setting.key)")
        }
        #expect(try HostSettings.load(from: directory) == (try Self.allExamples()))
        #expect(try Set(Self.fileObject(directory).keys) == Set(HostSettings.table.map(\.key)))
    }

    @Test("a missing key takes its default; no file is every default")
    func missingKeys() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        #expect(try HostSettings.load(from: directory) == HostSettings())
        try directory.write(Data(#"{"renewalInterval": 1440}"#.utf8), to: "settings.json")
        var expected = HostSettings()
        expected.renewalInterval = 1440
        #expect(try HostSettings.load(from: directory) == expected)
    }

    @Test("a settings.json written by the previous HostSettings (every key, none for nil) reads the same")
    func previousFormat() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        let old = #"""
        {"activationInterval":120,"adminListen":"127.0.0.1:1689","dnsAddresses":[],"dnsNameServers":["192.0.2.53"],
         "dnsPublishList":[{"domain":"example.com","priority":0,"weight":10}],"dnsPublishing":false,"dnsService":"tally","dnsTTL":600,
         "eventRetentionDays":400,"groupCommitMaxBatch":256,"groupCommitMaxWaitMicroseconds":0,"idleTimeoutSeconds":60,
         "listen":"[::]:1688","lowPriority":false,"maxConnections":10000,"rateLimitPerAddress":1000,"readTimeoutSeconds":10,
         "renewalInterval":10080,"walCheckpoint":"commit","adminTokenFile":"/var/lib/tally/host/admin-token"}
        """#
        try directory.write(Data(old.utf8), to: "settings.json")
        var expected = HostSettings()
        expected.dnsNameServers = ["192.0.2.53"]
        expected.dnsPublishList = [DNSPublishEntry(domain: "example.com", priority: 0, weight: 10)]
        expected.dnsPublishing = false
        expected.dnsTTL = 600
        expected.adminTokenFile = "/var/lib/tally/host/admin-token"
        #expect(try HostSettings.load(from: directory) == expected)
    }

    @Test("each whole-number setting refuses one past either end, from set and from a hand-edited file; set repairs the file")
    func ranges() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        for setting in HostSettings.table {
            let bounds = setting.syntax.components(separatedBy: "...").compactMap { Int($0) }
            guard bounds.count == 2 else { continue }
            for outside in [bounds[0] - 1, bounds[1] + 1] {
                var settings = HostSettings()
                #expect(throws: TallyError(.usageError, "")) { try settings.set(setting.name, to: String(outside)) }
                #expect(settings == HostSettings(), "\(setting.name): a refused value changed the settings")
                // The same value written into the file by hand.
                try directory.write(Data(#"{"\#(setting.key)": \#(outside)}"#.utf8), to: "settings.json")
                do {
                    _ = try HostSettings.load(from: directory)
                    Issue.record("\(setting.name) = \(outside) in settings.json was accepted")
                } catch let error as TallyError {
                    #expect(error.message.contains(setting.name) && error.message.contains(String(outside)), "\(error.message)")
                    #expect(error.remedy.contains("tally host set \(setting.name)"), "\(error.remedy)")
                }
                var repaired = try HostSettings.load(from: directory, validating: false)
                try repaired.set(setting.name, to: setting.example)
                try repaired.save(to: directory)
                #expect(setting.value(in: try HostSettings.load(from: directory)) == setting.example)
            }
        }
    }

    @Test("a value of the wrong type is kept as it was until set repairs it, and is reported with its setting's name")
    func wrongType() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        try directory.write(Data(#"{"renewalInterval": "a week", "dnsTTL": [1], "activationInterval": 60}"#.utf8), to: "settings.json")
        do {
            _ = try HostSettings.load(from: directory)
            Issue.record("a string renewal interval was accepted")
        } catch let error as TallyError {
            #expect(error.message.contains("renewal-interval") && error.message.contains("a week"))
            #expect(error.message.contains("dns-ttl"))
            #expect(error.remedy.contains("tally host set renewal-interval"))
        }
        // Repairing one keeps the other exactly as it was, and the good value.
        var settings = try HostSettings.load(from: directory, validating: false)
        #expect(settings.activationInterval == 60)
        try settings.set("renewal-interval", to: "1440")
        try settings.save(to: directory)
        let file = try Self.fileObject(directory)
        #expect(file["renewalInterval"] as? Int == 1440)
        #expect(file["dnsTTL"] as? [Int] == [1])
        #expect(file["activationInterval"] as? Int == 60)
        #expect(throws: TallyError(.usageError, "")) { try HostSettings.load(from: directory) }
        settings = try HostSettings.load(from: directory, validating: false)
        try settings.reset("dns-ttl")
        try settings.save(to: directory)
        #expect(try HostSettings.load(from: directory).dnsTTL == 300)
    }

    @Test("a key that is not a setting is kept through set, refused on load with a remedy, and removed by reset")
    func unknownKey() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        try directory.write(Data(#"{"renewal_interval": 1440, "replicas": {"kind": "postgres", "port": 5432}}"#.utf8), to: "settings.json")
        do {
            _ = try HostSettings.load(from: directory)
            Issue.record("unknown keys were accepted")
        } catch let error as TallyError {
            #expect(error.message.contains("\"renewal_interval\" is not a setting"))
            #expect(error.message.contains("\"replicas\""))
            #expect(error.remedy.contains("tally host reset renewal_interval"))
        }
        var settings = try HostSettings.load(from: directory, validating: false)
        try settings.set("renewal-interval", to: "1440")
        try settings.save(to: directory)
        let file = try Self.fileObject(directory)
        #expect((file["replicas"] as? [String: Any])?["kind"] as? String == "postgres")
        #expect(file["renewal_interval"] as? Int == 1440)
        settings = try HostSettings.load(from: directory, validating: false)
        try settings.reset("renewal_interval")
        try settings.reset("replicas")
        #expect(throws: TallyError(.usageError, "")) { try settings.reset("replicas") }
        try settings.save(to: directory)
        #expect(try HostSettings.load(from: directory).renewalInterval == 1440)
    }

    @Test("a file that is not a JSON object is refused with a remedy; no setting is guessed")
    func notJSON() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        for text in ["{", "[]", "renewalInterval=1440"] {
            try directory.write(Data(text.utf8), to: "settings.json")
            #expect(throws: TallyError(.stateUnreadable, "")) { try HostSettings.load(from: directory, validating: false) }
            do {
                _ = try HostSettings.load(from: directory)
            } catch let error as TallyError {
                #expect(error.remedy.contains("remove it"))
            }
        }
    }

    @Test("admin-listen takes none (and off, written as none) as well as an address; other text is refused")
    func adminListenNone() throws {
        var settings = HostSettings()
        try settings.set("admin-listen", to: "none")
        #expect(settings.adminListen == "none")
        try settings.set("admin-listen", to: "127.0.0.1:0")
        try settings.set("admin-listen", to: "off")
        #expect(settings.adminListen == "none")
        #expect(throws: TallyError(.usageError, "")) { try settings.set("admin-listen", to: "nowhere") }
        #expect(settings.adminListen == "none")
    }

    @Test("the reload's change: each changed row lands where its row says; restart rows keep the running value")
    func change() throws {
        let old = HostSettings()
        let new = try Self.allExamples()
        let change = HostSettingsChange(from: old, to: new)
        func rows(_ applies: (SettingApplies) -> Bool) -> [String] {
            HostSettings.table.filter { applies($0.applies(from: old, to: new)) }.map(\.name)
        }
        #expect(change.applied == rows { $0 == .onSIGHUP })
        #expect(change.needsRestart == rows { $0 == .atRestart })
        #expect(change.appliedWhenUsed.map(\.name) == rows { if case .whenUsed = $0 { true } else { false } })
        #expect(change.applied.count + change.needsRestart.count + change.appliedWhenUsed.count == HostSettings.table.count)
        #expect(change.needsRestart.contains("listen") && change.applied.contains("renewal-interval"))
        for setting in HostSettings.table {
            let kept = setting.value(in: change.effective)
            #expect(kept == (change.needsRestart.contains(setting.name) ? setting.value(in: old) : setting.value(in: new)), "\(setting.name)")
        }
        // The same file read again: only what still needs a restart is reported.
        let again = HostSettingsChange(from: change.effective, to: new)
        #expect(again.applied.isEmpty && again.appliedWhenUsed.isEmpty && again.needsRestart == change.needsRestart)
        #expect(HostSettingsChange(from: new, to: new).isEmpty)
        #expect(HostSettingsChange(from: new, to: new).summary == ["no setting changed"])
        #expect(change.summary.first == "applied: " + change.applied.joined(separator: ", "))
        #expect(change.summary.last == "needs a restart: " + change.needsRestart.joined(separator: ", "))
    }

    @Test("admin-token-file: set or removed needs a restart, another file applies on SIGHUP")
    func tokenFileChange() throws {
        var none = HostSettings(), one = HostSettings(), other = HostSettings()
        none.adminTokenFile = nil
        one.adminTokenFile = "/a"
        other.adminTokenFile = "/b"
        #expect(HostSettingsChange(from: none, to: one).needsRestart == ["admin-token-file"])
        #expect(HostSettingsChange(from: one, to: none).needsRestart == ["admin-token-file"])
        #expect(HostSettingsChange(from: one, to: other).applied == ["admin-token-file"])
        #expect(HostSettingsChange(from: one, to: other).effective.adminTokenFile == "/b")
    }

    @Test("a row's set-time check runs with a context, refuses without changing anything, and never runs on load")
    func setTimeCheck() throws {
        let (temp, directory) = Self.directory()
        _ = temp
        let row = HostSetting("dns-key-file", \.dnsKeyFile, .optional(.path), applies: .nextDNSRound, example: "/k", help: "test row",
                              check: { (path: String?, context: SettingContext) throws(TallyError) in
                                  guard let path, FileManager.default.fileExists(atPath: path) else { return }
                                  throw TallyError(.usageError, "\(path) in \(context.directory.url.lastPathComponent) is not fit",
                                                   remedy: "Use another file.")
                              })
        let file = temp.path("key")
        try Data("k".utf8).write(to: URL(fileURLWithPath: file))
        var settings = HostSettings()
        do {
            try row.set(file, in: &settings, context: SettingContext(directory: directory))
            Issue.record("the check did not run")
        } catch {
            #expect(error.message == "dns-key-file: \(file) in h is not fit")
            #expect(error.remedy == "Use another file.")
        }
        #expect(settings.dnsKeyFile == nil)
        try row.set("/nowhere", in: &settings, context: SettingContext(directory: directory))
        #expect(settings.dnsKeyFile == "/nowhere")
        try row.set(file, in: &settings)  // no context: no check (library callers, tests)
        #expect(settings.dnsKeyFile == file)
    }

    @Test("set --help is made from the table: every row's name, values, default and when it applies")
    func help() {
        for setting in HostSettings.table {
            #expect(HostSettings.helpText.contains(setting.helpEntry()))
            #expect(setting.helpEntry().contains("(default \(setting.defaultValue))"))
            #expect(setting.helpEntry().replacingOccurrences(of: "\n      ", with: " ").contains("applies " + setting.applies.summary))
            #expect(setting.helpEntry().split(separator: "\n").allSatisfy { $0.count <= 78 }, "\(setting.helpEntry())")
        }
    }

    /// The README's settings table, made from the settings table.
    static func readmeTable() -> String {
        (["| setting | what it is | values (default) | a running host applies a change |", "|---|---|---|---|"]
            + HostSettings.table.map { setting in
                let applies = (setting.refinesApplies ? "otherwise " : "") + setting.applies.summary
                return "| `\(setting.name)` | \(setting.help) | \(setting.syntax) (`\(setting.defaultValue)`) | \(applies) |"
            }).joined(separator: "\n")
    }

    @Test("the README lists exactly the settings of the table, with values, defaults and when they apply")
    func readme() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(Self.readmeTable()), "README.md's settings table should be:\n\(Self.readmeTable())")
    }
}
