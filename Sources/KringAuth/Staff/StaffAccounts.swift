import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Staff accounts, memberships and platform administrators in the control schema.
public enum StaffAccounts {
    static let userColumns = "u.id, u.email, u.display_name, u.disabled_at, u.created_at"

    public static func find(email: EmailAddress, in tx: PlatformTransaction) async throws -> StaffUser? {
        let rows = try await tx.query("SELECT \(unescaped: userColumns) FROM platform.users u WHERE u.email = \(email.value)")
        for try await row in rows { return try StaffUser(row: row) }
        return nil
    }

    public static func user(id: UUID, in tx: PlatformTransaction) async throws -> StaffUser? {
        let rows = try await tx.query("SELECT \(unescaped: userColumns) FROM platform.users u WHERE u.id = \(id)")
        for try await row in rows { return try StaffUser(row: row) }
        return nil
    }

    /// Finds the user with this e-mail or creates one without a password (they set it through a set-up token).
    public static func findOrCreate(email: EmailAddress, displayName: String, now: Date, in tx: PlatformTransaction) async throws -> StaffUser {
        try await findOrCreateReporting(email: email, displayName: displayName, now: now, in: tx).user
    }

    /// As `findOrCreate`, telling whether this call created the account. Only the creator of an account may be
    /// handed its set-up token: an existing account, even one without a password yet, belongs to someone else's invite.
    public static func findOrCreateReporting(
        email: EmailAddress, displayName: String, now: Date, in tx: PlatformTransaction
    ) async throws -> (user: StaffUser, created: Bool) {
        let inserted = try await tx.query(
            """
            INSERT INTO platform.users (id, email, display_name, created_at, updated_at)
            VALUES (\(UUID()), \(email.value), \(displayName), \(now), \(now))
            ON CONFLICT (email) DO NOTHING
            RETURNING id, email, display_name, disabled_at, created_at
            """)
        for try await row in inserted { return (try StaffUser(row: row), true) }
        guard let existing = try await find(email: email, in: tx) else { throw NoRowReturned() }
        return (existing, false)
    }

    public static func hasPassword(userID: UUID, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query("SELECT password_hash IS NOT NULL FROM platform.users WHERE id = \(userID)")
        for try await has in rows.decode(Bool.self) { return has }
        return false
    }

    public static func setPassword(userID: UUID, hash: String, now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query("UPDATE platform.users SET password_hash = \(hash), updated_at = \(now) WHERE id = \(userID)")
    }

    public static func setDisabled(userID: UUID, _ disabled: Bool, now: Date, in tx: PlatformTransaction) async throws {
        let disabledAt: Date? = disabled ? now : nil
        try await tx.query("UPDATE platform.users SET disabled_at = \(disabledAt), updated_at = \(now) WHERE id = \(userID)")
        if disabled { try await Sessions.revokeAll(userID: userID, tenantID: nil, reason: "user_disabled", now: now, in: tx) }
    }

    /// The slugs of active tenants in which no enabled user is an active tenant administrator (e.g. after an operator
    /// disabled the last one everywhere).
    public static func tenantsWithoutAdministrator(in tx: PlatformTransaction) async throws -> [String] {
        let rows = try await tx.query(
            """
            SELECT t.slug FROM platform.tenants t
            WHERE t.status = 'active' AND NOT EXISTS (
                SELECT 1 FROM platform.memberships m JOIN platform.users u ON u.id = m.user_id
                WHERE m.tenant_id = t.id AND m.role = 'tenant_admin' AND m.disabled_at IS NULL AND u.disabled_at IS NULL)
            ORDER BY t.slug
            """)
        var slugs: [String] = []
        for try await slug in rows.decode(String.self) { slugs.append(slug) }
        return slugs
    }

    /// Adds the user to a library. `displayName` is the name this library knows them by (an invitation's); without it
    /// the library sees the account's own name.
    public static func addMembership(
        userID: UUID, tenantID: UUID, role: Role, displayName: String? = nil, now: Date,
        in tx: PlatformTransaction
    ) async throws {
        guard Role.tenantRoles.contains(role) else { throw StaffError.notATenantRole(role.rawValue) }
        let rows = try await tx.query(
            """
            INSERT INTO platform.memberships (user_id, tenant_id, role, display_name, created_at, updated_at)
            VALUES (\(userID), \(tenantID), \(role.rawValue), \(displayName), \(now), \(now))
            ON CONFLICT (user_id, tenant_id) DO NOTHING
            RETURNING user_id
            """)
        for try await _ in rows { return }
        throw StaffError.alreadyMember
    }

    public static func makePlatformAdmin(userID: UUID, now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            INSERT INTO platform.platform_admins (user_id, created_at) VALUES (\(userID), \(now))
            ON CONFLICT (user_id) DO NOTHING
            """)
    }

    /// A member as their library sees them: its own name for them and when they joined it, never the account's
    /// name or age, which would tell whether the account existed before the invitation.
    static let memberSelect = """
        SELECT u.id, u.email, coalesce(m.display_name, u.display_name), u.disabled_at, m.created_at, m.role, m.disabled_at
        FROM platform.memberships m JOIN platform.users u ON u.id = m.user_id
        """

    /// A library's staff in keyset order of user id.
    public static func members(tenantID: UUID, after: UUID?, limit: Int, in tx: PlatformTransaction) async throws -> [TenantMember] {
        let rows = try await tx.query(
            """
            \(unescaped: memberSelect)
            WHERE m.tenant_id = \(tenantID) AND (\(after)::uuid IS NULL OR u.id > \(after))
            ORDER BY u.id LIMIT \(limit)
            """)
        var members: [TenantMember] = []
        for try await row in rows { members.append(try TenantMember(row: row)) }
        return members
    }

    public static func member(userID: UUID, tenantID: UUID, in tx: PlatformTransaction) async throws -> TenantMember? {
        let rows = try await tx.query("\(unescaped: memberSelect) WHERE m.tenant_id = \(tenantID) AND m.user_id = \(userID)")
        for try await row in rows { return try TenantMember(row: row) }
        return nil
    }

    /// Changes a member's role or switches the membership off. Refuses to leave a library without an active admin.
    public static func updateMember(
        userID: UUID, tenantID: UUID, role: Role?, disabled: Bool?, now: Date, in tx: PlatformTransaction
    ) async throws -> TenantMember {
        if let role, !Role.tenantRoles.contains(role) { throw StaffError.notATenantRole(role.rawValue) }
        // Lock the library's memberships so two admins cannot demote each other at once.
        try await tx.query("SELECT 1 FROM platform.memberships WHERE tenant_id = \(tenantID) FOR UPDATE")
        guard let current = try await member(userID: userID, tenantID: tenantID, in: tx) else { throw StaffError.notFound }
        let newRole = role ?? current.role
        let newDisabled = disabled ?? current.disabled
        if current.role == .tenantAdmin, !current.disabled, newRole != .tenantAdmin || newDisabled {
            let rows = try await tx.query(
                """
                SELECT count(*) FROM platform.memberships m JOIN platform.users u ON u.id = m.user_id
                WHERE m.tenant_id = \(tenantID) AND m.role = 'tenant_admin' AND m.disabled_at IS NULL
                  AND u.disabled_at IS NULL AND m.user_id <> \(userID)
                """)
            for try await others in rows.decode(Int.self) where others == 0 { throw StaffError.lastAdministrator }
        }
        try await tx.query(
            """
            UPDATE platform.memberships SET role = \(newRole.rawValue),
                disabled_at = CASE WHEN \(newDisabled) THEN coalesce(disabled_at, \(now)) ELSE NULL END,
                updated_at = \(now)
            WHERE user_id = \(userID) AND tenant_id = \(tenantID)
            """)
        if newDisabled || newRole != current.role {
            // Open sessions carry the old role in their tokens; end them so the change holds at once.
            try await Sessions.revokeAll(userID: userID, tenantID: tenantID, reason: "membership_changed", now: now, in: tx)
        }
        guard let updated = try await member(userID: userID, tenantID: tenantID, in: tx) else { throw StaffError.notFound }
        return updated
    }

    /// Whether this user id belongs to a library at all, for auditing a probe with another tenant's id.
    public static func isMemberElsewhere(userID: UUID, tenantID: UUID, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query("SELECT 1 FROM platform.memberships WHERE user_id = \(userID) AND tenant_id <> \(tenantID) LIMIT 1")
        for try await _ in rows { return true }
        return false
    }
}
