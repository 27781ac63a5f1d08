import Foundation
import Testing
import TallyCore
import TallyTestSupport
import TallyFiles
import TallyHost
import TallyVendor

@Suite("Interop: Tally's tokens verify with PyJWT")
struct InteropTests {
    @Test("a host certificate and a protocol-2 ticket (the grant's one token) verify with PyJWT from the vendor JWK and cnf.jwk alone")
    func pyjwt() throws {
        let fixture = try ActivatedHost()
        let now = Date()
        let cmid = CMID.generate()
        let claims = TicketClaims(iss: fixture.certificate.claims.sub, sub: cmid, sku: "studio-pro", fpr: "f", cnt: 25, iat: now,
                                  rnw: now.addingTimeInterval(7 * 86_400),
                                  exp: ActivationPolicy.ticketExpiry(now: now, certificate: fixture.certificate.claims),
                                  answer: .success, req: 25, ai: 120, ri: 10_080, htm: now, nce: "nonce-nonce-nonce-1")
        let ticket = try VerifiedTicket.issue(claims, hostKey: fixture.host.signingKey().privateKey, certificate: fixture.certificate)
        try fixture.certificate.compact.write(toFile: fixture.temp.path("cert.jwt"), atomically: true, encoding: .utf8)
        try ticket.write(toFile: fixture.temp.path("ticket.jwt"), atomically: true, encoding: .utf8)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/verify_pyjwt.py").path
        let (status, output) = try run("/usr/bin/env", ["python3", script, fixture.vendor.directory.file(VendorAuthority.publicKeyFile).path,
                                                         fixture.temp.path("cert.jwt"), fixture.temp.path("ticket.jwt"), cmid])
        #expect(status == 0, "PyJWT said: \(output)")
        #expect(output.contains(cmid))

        // A ticket whose signed bytes were edited and nothing else: the same claims (sub, iss, sku, the header)
        // but a later expiry and a higher count. Only its signature can make PyJWT refuse it.
        let parts = ticket.split(separator: ".").map(String.init)
        var edited = try TallyJSON.decode(TicketClaims.self, from: try #require(Base64URL.decode(parts[1])))
        edited.exp = claims.exp + 86_400
        edited.cnt = 1_000
        let tampered = [parts[0], Base64URL.encode(try TallyJSON.encode(edited)), parts[2]].joined(separator: ".")
        #expect(tampered != ticket)
        let tamperedClaims = try TallyJSON.decode(TicketClaims.self, from: try #require(Base64URL.decode(tampered.split(separator: ".")[1])))
        #expect(tamperedClaims.sub == cmid)
        #expect(tamperedClaims.iss == claims.iss)
        #expect(tamperedClaims.exp <= fixture.certificate.claims.exp)
        try tampered.write(toFile: fixture.temp.path("ticket.jwt"), atomically: true, encoding: .utf8)
        let (tamperedStatus, tamperedOutput) = try run("/usr/bin/env", ["python3", script, fixture.vendor.directory.file(VendorAuthority.publicKeyFile).path,
                                                                         fixture.temp.path("cert.jwt"), fixture.temp.path("ticket.jwt"), cmid])
        #expect(tamperedStatus == 2, "PyJWT said: \(tamperedOutput)")
        #expect(tamperedOutput.contains("InvalidSignatureError"))
        // And Tally refuses it for the same reason.
        #expect(throws: TokenError(.badSignature, "")) {
            try VerifiedTicket.verify(tampered, certificate: fixture.certificate.compact, roots: fixture.roots(), now: now, cmid: cmid)
        }
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
