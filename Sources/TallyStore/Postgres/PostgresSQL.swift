import PostgresNIO

/// A statement put together piece by piece (optional filters), each value a bind parameter, never text.
struct PostgresSQL: Sendable {
    private var text: String
    private var binds = PostgresBindings()

    init(_ text: String) { self.text = text }

    /// Appends `before`, then `value` as the next parameter, then `after`.
    mutating func append<Value: PostgresThrowingDynamicTypeEncodable>(_ before: String, _ value: Value, _ after: String = "") throws {
        try binds.append(value)
        text += before + "$\(binds.count)" + after
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}
