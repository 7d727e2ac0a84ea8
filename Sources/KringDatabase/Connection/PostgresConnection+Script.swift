import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs a multi-statement SQL script (a migration file) inside the current transaction.
    ///
    /// PostgresNIO speaks only the extended protocol, which takes one statement per query, so the script is
    /// handed over as a transaction-local setting and run by a PL/pgSQL `EXECUTE`, which accepts several.
    /// Its text never becomes part of a query string.
    public func runScript(_ sql: String, logger: Logger) async throws {
        try await query("SELECT set_config('kring.script', \(sql), true)", logger: logger)
        try await query("DO $kring$ BEGIN EXECUTE current_setting('kring.script'); END $kring$", logger: logger)
        try await query("SELECT set_config('kring.script', '', true)", logger: logger)
    }
}
