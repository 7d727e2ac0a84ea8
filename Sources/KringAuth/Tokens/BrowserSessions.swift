import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A browser's session with the staff web app, held on the server. The cookie carries a random id (only its hash is
/// stored). A full session belongs to a session family, so it ends with the family: logout, "sign out everywhere",
/// a disabled account or membership, a suspended library. It also ends after the library's idle time.
public struct BrowserSession: Sendable, Equatable {
    public enum Pending: String, Sendable {
        /// Password right; the code from the app is still to come.
        case secondFactor = "second_factor"
        /// Password right; two-factor is required but not set up: enrolment first.
        case enrol
    }

    public let userID: UUID
    public let tenantID: UUID?
    public let familyID: UUID?
    /// Every form of this session carries it; a POST without it is refused.
    public let csrfToken: String
    public let pending: Pending?
    public let pendingSecret: String?
    public let failedCodes: Int
    public let idleMinutes: Int
    /// The name the library knows this person by (or the account's own name).
    public let displayName: String
}

public enum BrowserSessions {
    public static let cookieName = "kring_session"
    /// A half-done sign-in lasts this long.
    public static let pendingMinutes = 10
    /// `last_seen_at` is written at most this often, so reading pages does not write on every request.
    static let touchInterval: TimeInterval = 60

    /// Starts a browser session and answers the cookie value (shown to nobody else, stored only as a hash).
    public static func create(
        userID: UUID, tenantID: UUID?, familyID: UUID?, pending: BrowserSession.Pending?, idleMinutes: Int,
        now: Date, in tx: PlatformTransaction
    ) async throws -> String {
        let cookie = SecureRandom.token(32)
        try await tx.query(
            """
            INSERT INTO platform.browser_sessions (id_hash, family_id, user_id, tenant_id, csrf_token, pending, created_at, last_seen_at, idle_minutes)
            VALUES (\(SecureRandom.sha256(cookie)), \(familyID), \(userID), \(tenantID), \(SecureRandom.token(32)), \(pending?.rawValue),
                    \(now), \(now), \(pending == nil ? idleMinutes : pendingMinutes))
            """)
        return cookie
    }

    /// The live session a cookie names, or nil (unknown, idle too long, or its family ended). Marks it seen.
    public static func find(cookie: String, now: Date, in tx: PlatformTransaction) async throws -> BrowserSession? {
        let hash = SecureRandom.sha256(cookie)
        let rows = try await tx.query(
            """
            SELECT s.user_id, s.tenant_id, s.family_id, s.csrf_token, s.pending, s.pending_secret, s.failed_codes, s.idle_minutes, s.last_seen_at,
                   COALESCE(NULLIF(m.display_name, ''), u.display_name)
            FROM platform.browser_sessions s
            JOIN platform.users u ON u.id = s.user_id
            LEFT JOIN platform.memberships m ON m.user_id = s.user_id AND m.tenant_id = s.tenant_id
            LEFT JOIN platform.refresh_token_families f ON f.id = s.family_id
            WHERE s.id_hash = \(hash)
              AND s.last_seen_at + make_interval(mins => s.idle_minutes) > \(now)
              AND (s.family_id IS NOT NULL OR s.created_at + make_interval(mins => \(pendingMinutes)::int) > \(now))
              AND (s.family_id IS NULL OR (f.revoked_at IS NULL AND f.expires_at > \(now)))
            """)
        for try await (userID, tenantID, familyID, csrf, pending, secret, failed, idle, lastSeen, name)
            in rows.decode((UUID, UUID?, UUID?, String, String?, String?, Int, Int, Date, String).self)
        {
            if now.timeIntervalSince(lastSeen) >= touchInterval {
                try await tx.query("UPDATE platform.browser_sessions SET last_seen_at = \(now) WHERE id_hash = \(hash)")
            }
            return BrowserSession(
                userID: userID, tenantID: tenantID, familyID: familyID, csrfToken: csrf,
                pending: try pending.map { try UnreadableColumn.enumValue(BrowserSession.Pending.self, $0, column: "pending") },
                pendingSecret: secret,
                failedCodes: failed, idleMinutes: idle, displayName: name)
        }
        return nil
    }

    public static func delete(cookie: String, in tx: PlatformTransaction) async throws {
        try await tx.query("DELETE FROM platform.browser_sessions WHERE id_hash = \(SecureRandom.sha256(cookie))")
    }

    /// Remembers the secret offered while enrolling, until a code from the app confirms it.
    public static func offerSecret(_ secret: String, cookie: String, in tx: PlatformTransaction) async throws {
        try await tx.query("UPDATE platform.browser_sessions SET pending_secret = \(secret) WHERE id_hash = \(SecureRandom.sha256(cookie))")
    }

    /// Counts a wrong code in a half-done sign-in and answers how many there were.
    public static func countWrongCode(cookie: String, in tx: PlatformTransaction) async throws -> Int {
        let rows = try await tx.query(
            """
            UPDATE platform.browser_sessions SET failed_codes = failed_codes + 1 WHERE id_hash = \(SecureRandom.sha256(cookie)) RETURNING failed_codes
            """)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// Removes sessions idle past their time (a housekeeping job; `find` already ignores them).
    public static func purgeIdle(now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            DELETE FROM platform.browser_sessions WHERE last_seen_at + make_interval(mins => idle_minutes) <= \(now)
               OR (family_id IS NULL AND created_at + make_interval(mins => \(pendingMinutes)::int) <= \(now))
            """)
    }
}

extension Authentication {
    /// The principal of a browser session cookie, with the session; nil when it is not (or no longer) valid.
    /// A half-done sign-in answers its session and no principal.
    public func authenticate(browserCookie cookie: String) async throws -> (principal: Principal?, session: BrowserSession)? {
        let time = now()
        return try await db.withPlatform { tx -> (Principal?, BrowserSession)? in
            guard let session = try await BrowserSessions.find(cookie: cookie, now: time, in: tx) else { return nil }
            guard session.pending == nil, let familyID = session.familyID else { return (nil, session) }
            guard let role = try await currentRole(userID: session.userID, tenantID: session.tenantID, in: tx) else { return nil }
            var tenant: Tenant?
            if let tenantID = session.tenantID {
                guard let found = try await TenantDirectory.find(id: tenantID, in: tx) else { return nil }
                tenant = found
            }
            return (
                Principal(
                    credential: .staff(userID: session.userID, sessionID: familyID), tenant: tenant,
                    role: role, permissions: PermissionMatrix.permissions(of: role)), session
            )
        }
    }
}

extension Authentication {
    /// The verified login a half-done browser sign-in stands for, read afresh (the account may have changed since).
    public func resumeLogin(_ session: BrowserSession) async throws -> VerifiedLogin? {
        let found: (Tenant?, Role, Bool, String)? = try await db.withPlatform { tx in
            guard let role = try await currentRole(userID: session.userID, tenantID: session.tenantID, in: tx) else { return nil }
            var tenant: Tenant?
            if let tenantID = session.tenantID {
                guard let found = try await TenantDirectory.find(id: tenantID, in: tx) else { return nil }
                tenant = found
            }
            let rows = try await tx.query("SELECT email, totp_enabled_at IS NOT NULL FROM platform.users WHERE id = \(session.userID)")
            for try await (email, twoFactor) in rows.decode((String, Bool).self) { return (tenant, role, twoFactor, email) }
            return nil
        }
        guard let (tenant, role, twoFactor, email) = found else { return nil }
        let policy: SessionPolicy = if let tenant { try await SessionPolicy.load(tenant: tenant, db: db) } else { .platform }
        return VerifiedLogin(
            userID: session.userID, tenant: tenant, role: role, twoFactorEnabled: twoFactor, policy: policy,
            accountKey: LoginThrottle.accountKey(email), rehash: nil)
    }
}
