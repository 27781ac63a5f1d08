import PostgresNIO

/// The text of a statement of the activation path that each session parses once, as a named prepared statement,
/// instead of with every batch: made by a query builder whose every value is a bind parameter, so the text it
/// makes is the same whatever the values, and the text it makes from placeholder values is the statement's.
protocol PostgresPreparedText: Sendable {
    /// The prepared statement's name on every session.
    static var name: String { get }
    /// The statement, with `$1`… for its values.
    static var sql: String { get }
}

/// A query of the activation path run as the prepared statement `Text`: parsed on a session's first use, then
/// only bound and executed (the same round trips as an unnamed statement, without PostgreSQL parsing, analysing
/// and, once its generic plan is chosen, planning it again per batch).
struct PostgresPrepared<Text: PostgresPreparedText>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { Text.name }
    static var sql: String { Text.sql }
    let binds: PostgresBindings

    /// `query` must have been made by the builder of `Text` (its text is checked in debug builds).
    init(_ query: PostgresQuery) {
        assert(query.sql == Text.sql, "\(Text.name): a query whose text is not the prepared statement's")
        binds = query.binds
    }

    func makeBindings() throws -> PostgresBindings { binds }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
