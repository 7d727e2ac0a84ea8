import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Login sessions as refresh-token families. Each refresh rotates the token; presenting a used token again
/// means it was stolen or replayed, and the whole family is revoked.
public enum Sessions {
    /// How long a session lives without a fresh login.
    public static let lifetime: TimeInterval = 30 * 24 * 3600

    public struct Issued: Sendable {
        public let sessionID: UUID
        public let refreshToken: String
    }

    public static func start(userID: UUID, tenantID: UUID?, now: Date, in tx: PlatformTransaction) async throws -> Issued {
        let sessionID = UUID()
        try await tx.query(
            """
            INSERT INTO platform.refresh_token_families (id, user_id, tenant_id, created_at, expires_at)
            VALUES (\(sessionID), \(userID), \(tenantID), \(now), \(now.addingTimeInterval(lifetime)))
            """)
        return Issued(sessionID: sessionID, refreshToken: try await issueToken(sessionID: sessionID, now: now, in: tx))
    }

    private static func issueToken(sessionID: UUID, now: Date, in tx: PlatformTransaction) async throws -> String {
        let token = "krr_" + SecureRandom.token(32)
        try await tx.query(
            """
            INSERT INTO platform.refresh_tokens (token_hash, family_id, created_at)
            VALUES (\(SecureRandom.sha256(token)), \(sessionID), \(now))
            """)
        return token
    }

    public enum RotationOutcome: Sendable {
        case rotated(Issued, userID: UUID, tenantID: UUID?)
        /// The token was used before: the family is now revoked.
        case reused(sessionID: UUID, userID: UUID, tenantID: UUID?)
        case invalid
    }

    public static func rotate(refreshToken: String, now: Date, in tx: PlatformTransaction) async throws -> RotationOutcome {
        let rows = try await tx.query(
            """
            SELECT f.id, f.user_id, f.tenant_id, f.expires_at, f.revoked_at, t.used_at
            FROM platform.refresh_tokens t JOIN platform.refresh_token_families f ON f.id = t.family_id
            WHERE t.token_hash = \(SecureRandom.sha256(refreshToken))
            FOR UPDATE OF t, f
            """)
        for try await (sessionID, userID, tenantID, expiresAt, revokedAt, usedAt) in rows.decode((UUID, UUID, UUID?, Date, Date?, Date?).self) {
            if usedAt != nil {
                if revokedAt == nil { try await revoke(sessionID: sessionID, reason: "refresh_reuse", now: now, in: tx) }
                return .reused(sessionID: sessionID, userID: userID, tenantID: tenantID)
            }
            guard revokedAt == nil, expiresAt > now else { return .invalid }
            try await tx.query("UPDATE platform.refresh_tokens SET used_at = \(now) WHERE token_hash = \(SecureRandom.sha256(refreshToken))")
            let token = try await issueToken(sessionID: sessionID, now: now, in: tx)
            return .rotated(Issued(sessionID: sessionID, refreshToken: token), userID: userID, tenantID: tenantID)
        }
        return .invalid
    }

    public static func revoke(sessionID: UUID, reason: String, now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            UPDATE platform.refresh_token_families SET revoked_at = \(now), revoke_reason = \(reason)
            WHERE id = \(sessionID) AND revoked_at IS NULL
            """)
    }

    /// Ends a user's sessions, in one library or (tenantID nil) everywhere, and any half-done browser sign-in.
    public static func revokeAll(userID: UUID, tenantID: UUID?, reason: String, now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            DELETE FROM platform.browser_sessions WHERE user_id = \(userID) AND family_id IS NULL
              AND (\(tenantID)::uuid IS NULL OR tenant_id IS NOT DISTINCT FROM \(tenantID))
            """)
        try await tx.query(
            """
            UPDATE platform.refresh_token_families SET revoked_at = \(now), revoke_reason = \(reason)
            WHERE user_id = \(userID) AND revoked_at IS NULL AND (\(tenantID)::uuid IS NULL OR tenant_id = \(tenantID))
            """)
    }
}

/// One-time tokens with which an invited user sets their first password (or an operator's reset is completed).
public enum SetupTokens {
    /// 72 hours: long enough for a weekend, short enough that an old mail is no key.
    public static let lifetime: TimeInterval = 72 * 3600

    /// Issues a token and voids any earlier one of this user: only the newest link works.
    public static func issue(userID: UUID, now: Date, in tx: PlatformTransaction) async throws -> String {
        try await tx.query("UPDATE platform.password_setup_tokens SET used_at = \(now) WHERE user_id = \(userID) AND used_at IS NULL")
        let token = "krs_" + SecureRandom.token(32)
        try await tx.query(
            """
            INSERT INTO platform.password_setup_tokens (token_hash, user_id, created_at, expires_at)
            VALUES (\(SecureRandom.sha256(token)), \(userID), \(now), \(now.addingTimeInterval(lifetime)))
            """)
        return token
    }

    /// Whether the token can still be redeemed (unused, unexpired), without using it.
    public static func isUsable(_ token: String, now: Date, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query(
            """
            SELECT 1 FROM platform.password_setup_tokens WHERE token_hash = \(SecureRandom.sha256(token)) AND used_at IS NULL AND expires_at > \(now)
            """)
        for try await _ in rows { return true }
        return false
    }

    /// Marks the token used and answers its user, or throws `invalidSetupToken`.
    public static func redeem(_ token: String, now: Date, in tx: PlatformTransaction) async throws -> UUID {
        let rows = try await tx.query(
            """
            UPDATE platform.password_setup_tokens SET used_at = \(now)
            WHERE token_hash = \(SecureRandom.sha256(token)) AND used_at IS NULL AND expires_at > \(now)
            RETURNING user_id
            """)
        for try await userID in rows.decode(UUID.self) {
            try await tx.query("UPDATE platform.password_setup_tokens SET used_at = \(now) WHERE user_id = \(userID) AND used_at IS NULL")
            return userID
        }
        throw StaffError.invalidSetupToken
    }
}
