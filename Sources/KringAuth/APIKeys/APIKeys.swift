import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// An integration's key: `kr_<env>_<id>_<secret>`, shown once. Only the SHA-256 of the secret is kept.
public struct APIKey: Sendable, Codable, Equatable {
    public let id: String
    public let tenantID: UUID
    public let environment: String
    public let name: String
    public let scopes: [APIScope]
    public let createdAt: Date
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let lastUsedAt: Date?

    static let columns = "id, tenant_id, environment, name, scopes, created_at, expires_at, revoked_at, last_used_at"

    init(row: PostgresRow) throws {
        let (id, tenantID, environment, name, scopes, createdAt, expiresAt, revokedAt, lastUsedAt) =
            try row.decode((String, UUID, String, String, [String], Date, Date?, Date?, Date?).self)
        self.id = id
        self.tenantID = tenantID
        self.environment = environment
        self.name = name
        self.scopes = try scopes.map { try UnreadableColumn.enumValue(APIScope.self, $0, column: "scopes") }
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}

public enum APIKeyError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .notFound: .notFound("No such API key in this library.")
        }
    }
}

public enum APIKeys {
    public struct Created: Sendable {
        public let key: APIKey
        /// The full key; returned once and never stored.
        public let secret: String
    }

    /// The parts of a presented key, before any lookup.
    public struct Presented: Sendable, Equatable {
        public let environment: String
        public let id: String
        public let secret: String

        /// `kr_<env>_<16 hex id>_<64 hex secret>`
        public init?(_ token: String) {
            let parts = token.split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == "kr",
                (2...12).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isLowercase }),
                parts[2].count == 16, parts[2].allSatisfy(\.isHexDigit),
                parts[3].count == 64, parts[3].allSatisfy(\.isHexDigit)
            else { return nil }
            environment = String(parts[1])
            id = String(parts[2]).lowercased()
            secret = String(parts[3]).lowercased()
        }
    }

    public static func create(
        tenantID: UUID, name: String, scopes: [String], expiresAt: Date?, environment: String, createdBy: UUID?,
        now: Date, in tx: PlatformTransaction
    ) async throws -> Created {
        var errors: [FieldError] = []
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.count > 100 { errors.append(FieldError(field: "name", message: "Give the key a name of 1 to 100 characters.")) }
        var parsed: [APIScope] = []
        for (index, scope) in scopes.enumerated() {
            if let scope = APIScope(rawValue: scope) {
                parsed.append(scope)
            } else {
                errors.append(
                    FieldError(
                        field: "scopes[\(index)]", message: "Unknown scope; use one of \(APIScope.allCases.map(\.rawValue).joined(separator: ", ")).")
                )
            }
        }
        if scopes.isEmpty { errors.append(FieldError(field: "scopes", message: "Name at least one scope.")) }
        if let expiresAt, expiresAt <= now { errors.append(FieldError(field: "expires_at", message: "Must lie in the future.")) }
        guard errors.isEmpty else { throw APIKeyError.invalid(errors) }

        let id = SecureRandom.hex(8)
        let secret = SecureRandom.hex(32)
        let uniqueScopes = Array(Set(parsed.map(\.rawValue))).sorted()
        let rows = try await tx.query(
            """
            INSERT INTO platform.api_keys (id, tenant_id, environment, name, scopes, secret_hash, created_by, created_at, expires_at)
            VALUES (\(id), \(tenantID), \(environment), \(trimmed), \(uniqueScopes), \(SecureRandom.sha256(secret)), \(createdBy), \(now), \(expiresAt))
            RETURNING \(unescaped: APIKey.columns)
            """)
        for try await row in rows {
            return Created(key: try APIKey(row: row), secret: "kr_\(environment)_\(id)_\(secret)")
        }
        throw NoRowReturned()
    }

    public static func list(tenantID: UUID, after: String?, limit: Int, in tx: PlatformTransaction) async throws -> [APIKey] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: APIKey.columns) FROM platform.api_keys
            WHERE tenant_id = \(tenantID) AND (\(after)::text IS NULL OR id > \(after))
            ORDER BY id LIMIT \(limit)
            """)
        var keys: [APIKey] = []
        for try await row in rows { keys.append(try APIKey(row: row)) }
        return keys
    }

    /// Revokes a key of this library; another library's key id answers `notFound`.
    public static func revoke(id: String, tenantID: UUID, now: Date, in tx: PlatformTransaction) async throws -> APIKey {
        let rows = try await tx.query(
            """
            UPDATE platform.api_keys SET revoked_at = coalesce(revoked_at, \(now))
            WHERE id = \(id) AND tenant_id = \(tenantID)
            RETURNING \(unescaped: APIKey.columns)
            """)
        for try await row in rows { return try APIKey(row: row) }
        throw APIKeyError.notFound
    }

    public static func exists(id: String, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query("SELECT 1 FROM platform.api_keys WHERE id = \(id)")
        for try await _ in rows { return true }
        return false
    }

    public enum Check: Sendable {
        case valid(APIKey, firstUseInWindow: Bool)
        case invalid(keyID: String?, tenantID: UUID?, reason: String)
    }

    /// Checks a presented key: known id, matching secret (constant-time), not revoked or expired, tenant active.
    /// Records `last_used_at` at most once a minute, so a busy integration does not write on every request.
    public static func check(_ token: String, environment: String, now: Date, in tx: PlatformTransaction) async throws -> Check {
        guard let presented = Presented(token), presented.environment == environment else {
            return .invalid(keyID: nil, tenantID: nil, reason: "malformed")
        }
        let rows = try await tx.query(
            """
            SELECT \(unescaped: APIKey.columns.split(separator: ",").map { "k." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
                   k.secret_hash, t.status
            FROM platform.api_keys k JOIN platform.tenants t ON t.id = k.tenant_id
            WHERE k.id = \(presented.id)
            """)
        for try await row in rows {
            let key = try APIKey(row: row)
            let columns = row.makeRandomAccess()
            let storedHash = try columns[9].decode(Data.self)
            let tenantStatus = try columns[10].decode(String.self)
            guard constantTimeEqual(Array(SecureRandom.sha256(presented.secret)), Array(storedHash)) else {
                return .invalid(keyID: key.id, tenantID: key.tenantID, reason: "wrong_secret")
            }
            if key.revokedAt != nil { return .invalid(keyID: key.id, tenantID: key.tenantID, reason: "revoked") }
            if let expiresAt = key.expiresAt, expiresAt <= now { return .invalid(keyID: key.id, tenantID: key.tenantID, reason: "expired") }
            if tenantStatus != Tenant.Status.active.rawValue { return .invalid(keyID: key.id, tenantID: key.tenantID, reason: "tenant_suspended") }
            let touched = try await tx.query(
                """
                UPDATE platform.api_keys SET last_used_at = \(now)
                WHERE id = \(key.id) AND (last_used_at IS NULL OR last_used_at < \(now.addingTimeInterval(-60)))
                RETURNING id
                """)
            var first = false
            for try await _ in touched { first = true }
            return .valid(key, firstUseInWindow: first)
        }
        return .invalid(keyID: presented.id, tenantID: nil, reason: "unknown_key")
    }
}
