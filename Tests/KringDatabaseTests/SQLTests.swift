import Foundation
import KringDatabase
import PostgresNIO
import Testing

/// `SQL` binds interpolated values, splices fragments and numbers the placeholders once, for the whole statement.
@Suite struct SQLTests {
    @Test func valuesAreBoundAndNumberedInOrder() {
        let id = UUID()
        let sql: SQL = "SELECT * FROM customers WHERE id = \(id) AND last_name = \("Jansen")"
        #expect(sql.query.sql == "SELECT * FROM customers WHERE id = $1 AND last_name = $2")
        #expect(sql.query.binds.count == 2)
    }

    @Test func splicedFragmentsAreRenumberedWhereverTheyLand() {
        let first: SQL = "a = \(1)"
        let second: SQL = "b = \(2) AND c = \(3)"
        let statement: SQL = "SELECT 1 WHERE \(second) AND \(first) AND d = \(4)"
        #expect(statement.query.sql == "SELECT 1 WHERE b = $1 AND c = $2 AND a = $3 AND d = $4")
        #expect(statement.query.binds.count == 4)
        // The same fragment used twice binds its value twice.
        let twice: SQL = "\(first) OR \(first)"
        #expect(twice.query.sql == "a = $1 OR a = $2")
    }

    @Test func joinedAndAddedFragments() {
        let parts: [SQL] = [1, 2, 3].map { "x = \($0)" }
        let joined: SQL = "(\(parts.joined(separator: " OR ")))"
        #expect(joined.query.sql == "(x = $1 OR x = $2 OR x = $3)")
        var growing: SQL = "SELECT 1 WHERE TRUE"
        growing += " AND y = \("y")"
        #expect((growing + " AND z = \(true)").query.sql == "SELECT 1 WHERE TRUE AND y = $1 AND z = $2")
        #expect(([] as [SQL]).joined(separator: ", ").isEmpty)
    }

    @Test func unescapedTextIsSplicedAsItIsAndAbsentValuesBindNull() {
        let missing: String? = nil
        let sql: SQL = "SELECT \(unescaped: "id, name") FROM t WHERE n IS NOT DISTINCT FROM \(missing)"
        #expect(sql.query.sql == "SELECT id, name FROM t WHERE n IS NOT DISTINCT FROM $1")
        #expect(sql.query.binds.count == 1)
        // The description shows the placeholders, never the values (which may be personal data).
        let personal: SQL = "email = \("jan@example.nl")"
        #expect(!personal.description.contains("jan@"))
    }
}
