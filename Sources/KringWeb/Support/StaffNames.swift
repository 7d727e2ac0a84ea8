import Foundation
import KringDatabase
import KringServer

/// Staff names by user id, as the library knows them (its own display name for a colleague, else theirs): for
/// "who handles it" and "account manager".
enum StaffNames {
    static func names(_ ids: [UUID], tenant: UUID?, services: AppServices) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        return try await services.db.withPlatform { tx in
            var names: [UUID: String] = [:]
            for try await (id, name) in try await tx.query(
                """
                SELECT u.id, COALESCE(NULLIF(m.display_name, ''), u.display_name) FROM platform.users u
                LEFT JOIN platform.memberships m ON m.user_id = u.id AND m.tenant_id = \(tenant)
                WHERE u.id = ANY(\(Array(Set(ids))))
                """
            ).decode((UUID, String).self) { names[id] = name }
            return names
        }
    }
}
