import Foundation
import NIOCore
import TallyCore
import TallyFiles
import TallyVendorLink

/// How a serving host's services reach the vendor, from its settings: the `vendor-url` setting, else the URL the
/// installed certificate names (`vurl`); the TLS roots from `vendor-ca-file`, else the system's; the proxy from
/// `HTTPS_PROXY`/`NO_PROXY`.
public struct VendorAccess: Sendable {
    /// Longest wait for the whole exchange after connecting (shorter in tests of a vendor that never answers).
    public var requestTimeout: TimeAmount
    public var connectTimeout: TimeAmount

    public init(requestTimeout: TimeAmount = .seconds(30), connectTimeout: TimeAmount = .seconds(10)) {
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
    }

    /// The vendor URL to use, or `nil` when neither the setting nor the certificate names one (an offline host).
    static func url(settings: HostSettings, directory: StateDirectory) -> String? {
        settings.vendorURL ?? (try? HostIdentity(directory: directory).installedCertificateClaims())?.vurl
    }

    /// The connection settings of `settings`.
    func connection(settings: HostSettings, directory: StateDirectory) throws(TallyError) -> VendorConnectionSettings {
        var connection = try VendorConnectionSettings.fromEnvironment(caFile: settings.vendorCaFile.map { HostSettings.resolve($0, in: directory) })
        connection.requestTimeout = requestTimeout
        connection.connectTimeout = connectTimeout
        return connection
    }
}
