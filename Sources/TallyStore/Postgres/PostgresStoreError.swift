import Foundation
import PostgresNIO
import TallyCore

/// PostgreSQL's failures as the host reports them: 0xC0A70006 (the store is unavailable, the request is not
/// counted) with what happened, PostgreSQL's own message and SQLSTATE where it sent one.
enum PostgresStoreError {
    static func timedOut(_ limit: Duration) -> TallyError {
        TallyError(.storeUnavailable, "the PostgreSQL store did not answer within \(limit)",
                   remedy: "Check that PostgreSQL runs and is reachable (`tally host store check`); the host serves again by itself once it answers.")
    }

    static func wrap(_ action: String, _ error: any Error) -> TallyError {
        if let error = error as? TallyError {
            return error
        }
        if let error = error as? PSQLError {
            var detail = "\(error.code)"
            if let message = error.serverInfo?[.message] { detail = message }
            if let state = error.serverInfo?[.sqlState] { detail += " (SQLSTATE \(state))" }
            if let underlying = error.underlying { detail += ": \(underlying)" }
            return TallyError(.storeUnavailable, "could not \(action): \(detail)",
                              remedy: "Check that PostgreSQL runs and is reachable (`tally host store check`); the host serves again by itself once it answers.")
        }
        return TallyError(.storeUnavailable, "could not \(action): \(error)",
                          remedy: "Check that PostgreSQL runs and is reachable (`tally host store check`).")
    }
}
