import PostgresNIO

/// A piece of SQL whose interpolations bind values and splice other pieces.
///
/// `"x = \(value)"` binds `value` as a parameter; `"WHERE \(condition)"` splices a fragment with its own binds;
/// `\(unescaped:)` splices text that is already validated (identifiers, column lists, fixed SQL). Placeholders
/// (`$1`, `$2`, ...) are numbered only when the whole statement is made (`query`), so fragments compose in any
/// order without counting parameters by hand.
///
/// ```swift
/// let recent: SQL = "c.updated_at > \(since)"
/// let statement: SQL = "SELECT id FROM customers c WHERE \(recent) AND c.branch_id = \(branch)"
/// try await tx.query(statement.query)
/// ```
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    fileprivate enum Piece: Sendable {
        case text(String)
        case bind(@Sendable (inout PostgresBindings) -> Void)
    }

    fileprivate var pieces: [Piece]

    public init(stringLiteral value: String) {
        pieces = value.isEmpty ? [] : [.text(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        pieces = stringInterpolation.pieces
    }

    /// Validated SQL text, spliced as it is (never a value from outside).
    public init(unescaped text: String) {
        pieces = text.isEmpty ? [] : [.text(text)]
    }

    /// The statement with its placeholders numbered from `$1`, ready to run.
    public var query: PostgresQuery {
        var sql = ""
        var binds = PostgresBindings()
        for piece in pieces {
            switch piece {
            case .text(let text):
                sql += text
            case .bind(let append):
                append(&binds)
                sql += "$\(binds.count)"
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The SQL text with its numbered placeholders (never the bound values, which may be personal data).
    public var description: String { query.sql }

    public var isEmpty: Bool { pieces.isEmpty }

    public static func + (left: SQL, right: SQL) -> SQL {
        var joined = left
        joined.pieces += right.pieces
        return joined
    }

    public static func += (left: inout SQL, right: SQL) {
        left.pieces += right.pieces
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        fileprivate var pieces: [Piece] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            pieces.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { pieces.append(.text(literal)) }
        }

        /// A value, bound as a parameter.
        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable & Sendable>(_ value: Value) {
            pieces.append(.bind { $0.append(value, context: .default) })
        }

        /// An optional value, bound as a parameter (NULL when absent).
        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable & Sendable>(_ value: Value?) {
            switch value {
            case .none: pieces.append(.bind { $0.appendNull() })
            case .some(let value): pieces.append(.bind { $0.append(value, context: .default) })
            }
        }

        /// Another fragment, with its binds.
        public mutating func appendInterpolation(_ fragment: SQL) {
            pieces += fragment.pieces
        }

        /// Validated SQL text (identifiers, column lists), spliced as it is.
        public mutating func appendInterpolation(unescaped text: String) {
            if !text.isEmpty { pieces.append(.text(text)) }
        }
    }
}

extension Sequence where Element == SQL {
    /// The fragments one after another with `separator` between them, e.g. `conditions.joined(separator: " AND ")`.
    public func joined(separator: String) -> SQL {
        var result: SQL = ""
        for (index, fragment) in enumerated() {
            if index > 0 { result.pieces.append(.text(separator)) }
            result.pieces += fragment.pieces
        }
        return result
    }
}

extension TenantTransaction {
    /// Runs a composed statement.
    @discardableResult
    public func query(sql: SQL, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await query(sql.query, file: file, line: line)
    }
}
