import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyStore

/// Opens the store the settings name: the SQLite store in the state directory, or a PostgreSQL store shared by
/// the hosts of this host's licence.
public enum HostStoreOpening {
    /// The PostgreSQL store's configuration from the settings, the password read from its file (0600), PGPASSWORD
    /// or ~/.pgpass. `nil` for `store sqlite`.
    public static func postgresConfiguration(_ settings: HostSettings, directory: StateDirectory, hostID: String,
                                             hostAddress: String = "") throws(TallyError) -> PostgresStoreConfiguration? {
        guard settings.store != "sqlite" else { return nil }
        let url = try PostgresStoreURL(parsing: settings.store)
        let passwordFile = settings.storePasswordFile.map { $0.hasPrefix("/") ? $0 : directory.file($0).path }
        var configuration = PostgresStoreConfiguration(url: url, password: try PostgresStoreConfiguration.password(file: passwordFile, url: url),
                                                       hostID: hostID)
        guard let mode = PostgresStoreConfiguration.SSLMode(rawValue: settings.storeSslmode) else {
            throw TallyError(.storeSettingRefused, "store-sslmode must be disable, require or verify-full, not '\(settings.storeSslmode)'")
        }
        configuration.sslMode = mode
        configuration.caFile = settings.storeCaFile.map { $0.hasPrefix("/") ? $0 : directory.file($0).path }
        configuration.maxConnections = settings.storeMaxConnections
        configuration.hostAddress = hostAddress
        return configuration
    }

    /// Opens the store for a host of `certificate`'s licence (any licence check is skipped without one).
    /// A reader (`serving` false: a `tally host` command) is not recorded among the hosts serving the site.
    public static func open(_ settings: HostSettings, directory: StateDirectory, hostID: String, hostAddress: String = "",
                            certificate: HostCertificateClaims?, serving: Bool = true, logger: Logger) async throws -> any HostStore {
        guard var configuration = try postgresConfiguration(settings, directory: directory, hostID: hostID, hostAddress: hostAddress) else {
            return try SQLiteHostStore(path: directory.file(HostRuntime.storeFile).path, logger: logger)
        }
        configuration.serving = serving
        let store = try await PostgresHostStore.open(configuration, site: certificate.map(StoreSite.init(certificate:)), logger: logger)
        logger.info("store opened", metadata: ["store": "\(configuration.url)", "schema": "\(store.schemaVersion)", "host": "\(hostID)"])
        return store
    }
}
