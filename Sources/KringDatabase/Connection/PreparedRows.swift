import PostgresNIO

/// A statement of a hot path that PostgreSQL parses and plans once per connection (PostgresNIO prepares it on first
/// use, by the type's name). Parsing and planning were most of the database's time for a 360 view: planning a join
/// costs more than running it over a few index entries. The text is fixed, so it numbers its own parameters;
/// everything else composes `SQL`.
///
/// A statement with unqualified table names is parsed again whenever the connection's `search_path` differs from
/// the last use (another library's transaction), so it always reads the current library's tables; privileges are
/// checked when it runs, as the library's role.
///
/// Each names itself (`static let name = "kring.…"`): PostgresNIO's default name is `String(reflecting:)` of the type,
/// worked out anew on every run.
public protocol PreparedRows: PostgresPreparedStatement where Row == PostgresRow {}

extension PreparedRows {
    public func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs a prepared statement and reads all its rows.
    public func rows<Statement: PreparedRows>(
        _ statement: Statement, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws
        -> [PostgresRow]
    {
        var rows: [PostgresRow] = []
        for try await row in try await execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
        return rows
    }
}

extension TenantTransaction {
    /// Runs a prepared statement in this library's transaction and reads all its rows.
    public func rows<Statement: PreparedRows>(_ statement: Statement, file: String = #fileID, line: Int = #line) async throws -> [PostgresRow] {
        try await connection.rows(statement, logger: logger, file: file, line: line)
    }
}
