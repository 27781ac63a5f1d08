import Foundation
import Logging
import Testing
import TallyCore
import TallyPostgresTestSupport
import TallyStore
import TallyTestSupport

/// The stores the contract runs against: SQLite on disk, and PostgreSQL in the process's throwaway cluster
/// (a database of its own per test). Both take the time as an input here (`clock: .caller`), so the same test
/// bodies run on both; the database's own clock has tests of its own.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }

    /// Opens the store (again after `close`, on the same data) for a host of `certificate`'s licence.
    func opener(_ fixture: ActivatedHost, hostID: String = "host-a") throws -> @Sendable () async throws -> any HostStore {
        switch self {
        case .sqlite:
            let path = fixture.temp.path("host.sqlite")
            return { try SQLiteHostStore(path: path) }
        case .postgresql:
            let cluster = try PostgresCluster.shared()
            let url = try cluster.makeDatabase(PostgresCluster.uniqueDatabase())
            let site = StoreSite(certificate: fixture.certificate.claims)
            return { try await PostgresHostStore.open(try StoreKind.configuration(url, hostID: hostID), site: site) }
        }
    }

    static func configuration(_ url: String, hostID: String, clock: PostgresStoreConfiguration.Clock = .caller,
                              serving: Bool = false, hostTimeouts: Bool = false) throws -> PostgresStoreConfiguration {
        var configuration = PostgresStoreConfiguration(url: try PostgresStoreURL(parsing: url), hostID: hostID)
        configuration.clock = clock
        configuration.serving = serving
        // Not a host's timeouts: these tests are about what is stored and in what order, and a machine busy with
        // other suites must not turn a slow batch into a failure. The store-down tests keep a host's timeouts.
        if !hostTimeouts {
            configuration.connectTimeout = .seconds(10)
            configuration.deadline = .seconds(30)
            configuration.lockTimeout = .seconds(20)
            configuration.statementTimeout = .seconds(20)
        }
        return configuration
    }
}
