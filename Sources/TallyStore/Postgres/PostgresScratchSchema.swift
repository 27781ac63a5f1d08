import Foundation
import Logging
import PostgresNIO
import TallyCore

/// A database that belongs to a tool, not to a site: `tally bench` and `scripts/crash-test` empty it before each
/// set of hosts they start on it, so every run begins from an empty schema. Never used by a serving host.
public enum PostgresScratchSchema {
    /// Drops the `public` schema with everything in it and makes it again, empty. The password as a host finds
    /// it (PGPASSWORD or ~/.pgpass). An unreachable server is an error that says so, within the connect timeout.
    public static func empty(_ url: PostgresStoreURL, logger: Logger = Logger(label: "tally.store.scratch")) async throws {
        var configuration = PostgresStoreConfiguration(url: url, password: try PostgresStoreConfiguration.password(file: nil, url: url),
                                                       hostID: "scratch")
        configuration.serving = false
        configuration.maxConnections = 1
        let pool = try PostgresSessionPool(configuration: configuration, logger: logger)
        do {
            try await pool.withSession("empty the schema of \(url)", deadline: .seconds(60)) { session in
                try await session.query("DROP SCHEMA IF EXISTS public CASCADE", logger: logger)
                try await session.query("CREATE SCHEMA public", logger: logger)
            }
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }
}
