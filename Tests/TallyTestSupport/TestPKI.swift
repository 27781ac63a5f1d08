import Foundation

/// A throwaway certificate authority made with `openssl` (scripts/test installs it): a CA, and server
/// certificates it signs for the names a test asks for. Everything lives in a temporary directory.
public final class TestPKI: @unchecked Sendable {
    public let directory: TemporaryDirectory
    /// The CA certificate, PEM: what a host pins with `--vendor-ca`.
    public let caCertificate: String
    let caKey: String

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public static let openssl = "/usr/bin/openssl"

    public init(name: String = "Tally Test CA") throws {
        directory = TemporaryDirectory()
        caCertificate = directory.path("ca.pem")
        caKey = directory.path("ca.key")
        try Self.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey, "-out", caCertificate,
                      "-days", "2", "-subj", "/CN=\(name)", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
    }

    /// A server certificate and key signed by this CA for `names` (`DNS:localhost`, `IP:127.0.0.1`, …).
    public func server(names: [String] = ["DNS:localhost", "IP:127.0.0.1"], file: String = "server") throws -> (certificate: String, key: String) {
        let key = directory.path("\(file).key"), request = directory.path("\(file).csr"), certificate = directory.path("\(file).pem")
        let extensions = directory.path("\(file).ext")
        try "subjectAltName=\(names.joined(separator: ","))\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", request, "-subj", "/CN=\(file)"])
        try Self.run(["x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial", "-out", certificate, "-days", "2",
                      "-extfile", extensions])
        return (certificate, key)
    }

    static func run(_ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: openssl) else {
            throw Failure(description: "\(openssl) is missing: scripts/test installs it (apt-get install openssl)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
