import Foundation
import Testing
import TallyCore
import TallyTestSupport
import TallyFiles
import TallyHost
import TallyVendor

@Suite("Interop: Tally's tokens verify with PyJWT")
struct InteropTests {
    @Test("a host certificate and a ticket verify with PyJWT from the vendor JWK and cnf.jwk alone")
    func pyjwt() throws {
        let fixture = try ActivatedHost()
        let now = Date()
        let cmid = CMID.generate()
        let claims = TicketClaims(iss: fixture.certificate.claims.sub, sub: cmid, sku: "studio-pro", fpr: "f", cnt: 25, iat: now,
                                  rnw: now.addingTimeInterval(7 * 86_400),
                                  exp: ActivationPolicy.ticketExpiry(now: now, certificate: fixture.certificate.claims))
        let ticket = try VerifiedTicket.issue(claims, hostKey: fixture.host.signingKey().privateKey, certificate: fixture.certificate)
        try fixture.certificate.compact.write(toFile: fixture.temp.path("cert.jwt"), atomically: true, encoding: .utf8)
        try ticket.write(toFile: fixture.temp.path("ticket.jwt"), atomically: true, encoding: .utf8)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/verify_pyjwt.py").path
        let (status, output) = try run("/usr/bin/env", ["python3", script, fixture.vendor.directory.file(VendorAuthority.publicKeyFile).path,
                                                         fixture.temp.path("cert.jwt"), fixture.temp.path("ticket.jwt"), cmid])
        #expect(status == 0, "PyJWT said: \(output)")
        #expect(output.contains(cmid))

        // The same check fails for a ticket whose payload was edited.
        var parts = ticket.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Data(#"{"sub":"someone-else"}"#.utf8))
        try parts.joined(separator: ".").write(toFile: fixture.temp.path("ticket.jwt"), atomically: true, encoding: .utf8)
        let (tamperedStatus, _) = try run("/usr/bin/env", ["python3", script, fixture.vendor.directory.file(VendorAuthority.publicKeyFile).path,
                                                            fixture.temp.path("cert.jwt"), fixture.temp.path("ticket.jwt"), cmid])
        #expect(tamperedStatus != 0)
    }

    func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
