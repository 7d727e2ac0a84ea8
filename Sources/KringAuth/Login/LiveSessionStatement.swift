import Foundation
import KringDatabase
import PostgresNIO

/// The check every request makes of its session: live, the person and their membership (or platform role) not
/// disabled, the library active. Prepared: it joins five tables, and planning it anew each time cost more than running it.
struct LiveSessionStatement: PreparedRows {
    static let name = "kring.LiveSessionStatement"
    static let sql = """
        SELECT m.role, a.user_id IS NOT NULL, t.id, t.slug, t.name, t.status, t.created_at
        FROM platform.refresh_token_families f
        JOIN platform.users u ON u.id = f.user_id AND u.disabled_at IS NULL
        LEFT JOIN platform.memberships m ON m.user_id = f.user_id AND m.tenant_id = f.tenant_id AND m.disabled_at IS NULL
        LEFT JOIN platform.tenants t ON t.id = f.tenant_id AND t.status = 'active'
        LEFT JOIN platform.platform_admins a ON f.tenant_id IS NULL AND a.user_id = f.user_id
        WHERE f.id = $1 AND f.user_id = $2 AND f.revoked_at IS NULL AND f.expires_at > $3
          AND f.tenant_id IS NOT DISTINCT FROM $4
        """

    static var bindingDataTypes: [PostgresDataType] { [.uuid, .uuid, .timestamptz, .uuid] }

    let sessionID: UUID
    let userID: UUID
    let now: Date
    let tenantID: UUID?

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(sessionID)
        bindings.append(userID)
        bindings.append(now)
        if let tenantID { bindings.append(tenantID) } else { bindings.appendNull() }
        return bindings
    }
}
