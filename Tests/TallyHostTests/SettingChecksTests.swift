import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// The set-time checks of the rows naming files (issue 13 item 6) and the online rows (issue 12): bad input is a
/// clear error and the setting stays as it was.
@Suite("Host settings: files checked when set; the vendor rows")
struct SettingChecksTests {
    static let key = "key \"tally-host\" {\n\talgorithm hmac-sha256;\n\tsecret \"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\";\n};\n"

    static func write(_ text: String, to path: String, mode: Int) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// The error `set` throws, and that `settings` did not change.
    static func refusal(_ settings: inout HostSettings, _ name: String, _ value: String, in directory: StateDirectory) -> TallyError? {
        let before = settings
        do {
            try settings.set(name, to: value, context: SettingContext(directory: directory))
            return nil
        } catch {
            #expect(settings == before, "\(name) changed although refused")
            return error
        }
    }

    @Test("dns-key-file: a file others may read, one that does not parse, and a missing one are refused when set; a good one is taken")
    func dnsKeyFile() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("h"))
        var settings = HostSettings()
        let readable = temp.path("readable.key")
        try Self.write(Self.key, to: readable, mode: 0o644)
        let open = try #require(Self.refusal(&settings, "dns-key-file", readable, in: directory))
        #expect(open.message.contains("dns-key-file") && open.message.contains("may be read by other users (mode 644)"), "\(open.message)")
        #expect(open.remedy.contains("chmod 600 \(readable)"))

        let garbled = temp.path("garbled.key")
        try Self.write("key \"tally-host\" { algorithm hmac-sha256; };\n", to: garbled, mode: 0o600)
        let broken = try #require(Self.refusal(&settings, "dns-key-file", garbled, in: directory))
        #expect(broken.message.contains("no secret") || broken.message.contains("secret"), "\(broken.message)")

        let missing = try #require(Self.refusal(&settings, "dns-key-file", temp.path("nowhere.key"), in: directory))
        #expect(missing.message.contains("does not exist") && missing.remedy.contains("tsig-keygen"))

        let good = temp.path("good.key")
        try Self.write(Self.key, to: good, mode: 0o600)
        try settings.set("dns-key-file", to: good, context: SettingContext(directory: directory))
        #expect(settings.dnsKeyFile == good)
        // A relative path is read in the state directory, as the publisher reads it.
        try FileManager.default.createDirectory(atPath: directory.url.path, withIntermediateDirectories: true)
        try Self.write(Self.key, to: directory.file("tally-host.key").path, mode: 0o600)
        try settings.set("dns-key-file", to: "tally-host.key", context: SettingContext(directory: directory))
        #expect(settings.dnsKeyFile == "tally-host.key")
        try settings.set("dns-key-file", to: "none", context: SettingContext(directory: directory))
        #expect(settings.dnsKeyFile == nil)
    }

    @Test("vendor-ca-file must hold PEM certificates; vendor-url must be https (http only for localhost); the margin has a range")
    func vendorRows() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("h"))
        var settings = HostSettings()
        let notPEM = temp.path("not.pem")
        try Self.write("not a certificate\n", to: notPEM, mode: 0o644)
        let refused = try #require(Self.refusal(&settings, "vendor-ca-file", notPEM, in: directory))
        #expect(refused.message.hasPrefix("vendor-ca-file: \(notPEM) is not a PEM file of CA certificates"), "\(refused.message)")
        #expect(Self.refusal(&settings, "vendor-ca-file", temp.path("missing.pem"), in: directory)?.message.contains("cannot be read") == true)
        let pki = try TestPKI()
        try settings.set("vendor-ca-file", to: pki.caCertificate, context: SettingContext(directory: directory))
        #expect(settings.vendorCaFile == pki.caCertificate)

        #expect(Self.refusal(&settings, "vendor-url", "http://activation.acme.example", in: directory)?.message.contains("https://") == true)
        #expect(Self.refusal(&settings, "vendor-url", "ftp://x", in: directory) != nil)
        try settings.set("vendor-url", to: "https://activation.acme.example:443/", context: SettingContext(directory: directory))
        #expect(settings.vendorURL == "https://activation.acme.example")
        try settings.set("vendor-url", to: "http://localhost:8080", context: SettingContext(directory: directory))
        #expect(settings.vendorURL == "http://localhost:8080")

        #expect(Self.refusal(&settings, "renewal-margin-days", "0", in: directory) != nil)
        #expect(Self.refusal(&settings, "renewal-margin-days", "151", in: directory) != nil)
        try settings.set("renewal-margin-days", to: "60")
        #expect(settings.renewalMarginDays == 60)
        #expect(HostSettings().renewalMarginDays == 30 && HostSettings().reportSending && HostSettings().vendorURL == nil)
        #expect(HostSettings.setting(named: "report-sending")?.applies == .onSIGHUP)
    }
}
