import Foundation
import Testing

@Suite("Packaging: the systemd unit")
struct PackagingTests {
    static let packaging = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging")
    static let unitPath = packaging.appendingPathComponent("tally-host.service").path

    @Test("the unit runs the host as its own user with a state directory, reloads with SIGHUP and is hardened")
    func unit() throws {
        let text = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in ["User=tally", "Group=tally", "StateDirectory=tally tally/host", "StateDirectoryMode=0700",
                     "ExecStart=/usr/local/bin/tally host serve --state-dir /var/lib/tally/host", "ExecReload=/bin/kill -HUP $MAINPID",
                     "KillSignal=SIGTERM", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                     "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "UMask=0077"] {
            #expect(lines.contains(line), "missing: \(line)")
        }
    }

    @Test("the vendor's unit runs `tally vendor serve` as its own user with TLS files it may only read, reloads TLS with SIGHUP")
    func vendorUnit() throws {
        let text = try String(contentsOf: Self.packaging.appendingPathComponent("tally-vendor.service"), encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in ["User=tally-vendor", "StateDirectory=tally tally/vendor", "StateDirectoryMode=0700", "ReadOnlyPaths=/etc/tally/vendor-tls",
                     "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "UMask=0077"] {
            #expect(lines.contains(line), "missing: \(line)")
        }
        #expect(lines.contains { $0.hasPrefix("ExecStart=/usr/local/bin/tally vendor serve --state-dir /var/lib/tally/vendor ") && $0.contains("--tls-key ") })
    }

    @Test("systemd-analyze accepts the units", arguments: ["tally-host.service", "tally-vendor.service"])
    func verify(_ unit: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "scripts/test installs systemd")
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        // The binary is not installed here: point ExecStart at one that exists.
        let text = try String(contentsOf: Self.packaging.appendingPathComponent(unit), encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/tally", with: "/bin/true")
        let copy = temp.appendingPathComponent(unit)
        try text.write(to: copy, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["verify", copy.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Only a missing `tally` user may be mentioned on a machine that never installed the unit.
        let problems = message.split(separator: "\n").filter { !$0.contains("tally") || !$0.lowercased().contains("user") }
        #expect(problems.isEmpty, "\(message)")
    }
}
