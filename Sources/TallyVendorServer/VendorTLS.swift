import NIOSSL
import TallyCore

/// The vendor service's TLS: TLS 1.2 or later with the certificate chain and key from PEM files.
enum VendorTLS {
    static func serverContext(_ files: VendorServerConfiguration.TLSFiles) throws(TallyError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
            guard !chain.isEmpty else {
                throw TallyError(.vendorTLSConfiguration, "\(files.certificateChain) holds no PEM certificate")
            }
            let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.vendorTLSConfiguration, "the TLS certificate \(files.certificateChain) and key \(files.privateKey) could not be used: \(error)")
        }
    }
}
