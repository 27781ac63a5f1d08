import GRDB
import GRDBSQLite

/// One execution of a cached GRDB statement with its columns bound by SQLite's C API, for the statements run once
/// per request (the log row's insert, the indexer's look-up and upserts).
///
/// GRDB's `execute(arguments:)` takes an array of `DatabaseValueConvertible` existentials, converts each to a
/// `DatabaseValue` and binds them in nested closures, and its `Row` copies each value out: with 11 to 17 columns a
/// row, the indexer's catch-up after a load spent 42 % of its samples in libswiftCore (retain and release,
/// existential boxes, generic metadata) against 17 % in SQLite. With the columns bound and read here, the host's
/// CPU after a 5 s load at 16 connections was 0.68× and its exit took 0.70× the time (`tally bench`, 3 rounds).
/// These are plain INSERTs and SELECTs inside a transaction GRDB opened, on the thread GRDB gave the block, with
/// no transaction observers, so GRDB's per-statement bookkeeping has nothing to do for them.
/// Strings are bound as copies (`SQLITE_TRANSIENT`); the statement is reset and its bindings cleared after each
/// execution, so GRDB finds it as it left it.
struct BoundStatement {
    private let statement: Statement
    private let database: Database
    private var handle: OpaquePointer { statement.sqliteStatement }
    private var index: Int32 = 0
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Resets `statement` (GRDB may leave it stepped to its end), ready for its first column.
    init(_ statement: Statement, _ database: Database) {
        self.statement = statement
        self.database = database
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(handle, index, value)
    }

    mutating func bind(_ value: Int) { bind(Int64(value)) }

    mutating func bind(_ value: Double) {
        index += 1
        sqlite3_bind_double(handle, index, value)
    }

    mutating func bind(_ value: Bool) { bind(Int64(value ? 1 : 0)) }

    mutating func bind(_ value: String) {
        index += 1
        sqlite3_bind_text(handle, index, value, -1, Self.transient)
    }

    mutating func bind(_ value: Int64?) { if let value { bind(value) } else { bindNull() } }
    mutating func bind(_ value: Int?) { if let value { bind(value) } else { bindNull() } }
    mutating func bind(_ value: Double?) { if let value { bind(value) } else { bindNull() } }
    mutating func bind(_ value: Bool?) { if let value { bind(value) } else { bindNull() } }
    mutating func bind(_ value: String?) { if let value { bind(value) } else { bindNull() } }

    private mutating func bindNull() {
        index += 1
        sqlite3_bind_null(handle, index)
    }

    /// Runs the statement to its end (an INSERT: no rows).
    func execute() throws {
        try forEachRow { _ in }
    }

    /// Runs a SELECT, handing each row's statement handle to `row` (read it with `sqlite3_column_*`).
    func forEachRow(_ row: (OpaquePointer) throws -> Void) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        guard index == sqlite3_bind_parameter_count(handle) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(index) values bound, \(sqlite3_bind_parameter_count(handle)) expected",
                                sql: statement.sql)
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_DONE: return
            case SQLITE_ROW: try row(handle)
            case let code:
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: database.lastErrorMessage, sql: statement.sql)
            }
        }
    }

    /// Column `column` of the current row as an integer (0 for NULL).
    static func int(_ handle: OpaquePointer, _ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    static func int64(_ handle: OpaquePointer, _ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    static func double(_ handle: OpaquePointer, _ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    static func isNull(_ handle: OpaquePointer, _ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// Column `column` of the current row as text (`""` for NULL).
    static func text(_ handle: OpaquePointer, _ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: text)
    }
}
