import Foundation
import KringAuth
import KringB2C
import KringDatabase

extension AppServices {
    /// Runs `body` in one transaction of the principal's library, if it holds `permission`.
    ///
    /// An unknown customer id (which may be another library's) answers 404; the ids in `probing` are then
    /// audited in a transaction of their own, since the request's own transaction rolls back.
    public func inTenant<T: Sendable>(
        _ permission: Permission, _ context: KringRequestContext, probing ids: [UUID] = [],
        _ body: (TenantTransaction, AuditActor, Date) async throws -> T
    ) async throws -> T {
        let (principal, tenant) = try context.requireTenant(permission)
        let actor = AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID)
        let now = self.now()
        do {
            return try await db.withTenant(tenant) { tx in try await body(tx, actor, now) }
        } catch CustomerError.notFound where !ids.isEmpty {
            try? await db.withTenant(tenant) { tx in
                for id in ids {
                    try await TenantAudit.record(
                        "access.unknown_customer", subjectType: "customer", subjectID: id.uuidString.lowercased(),
                        by: actor, at: now, in: tx)
                }
            }
            throw CustomerError.notFound
        } catch CustomerError.unknownReference(let field, let id) {
            // A field naming an unknown customer may be a probe for another library's id: audited like one.
            try? await db.withTenant(tenant) { tx in
                try await TenantAudit.record(
                    "access.unknown_customer", subjectType: "customer", subjectID: id.uuidString.lowercased(),
                    by: actor, at: now, in: tx)
            }
            throw CustomerError.unknownReference(field: field, id: id)
        }
    }

    /// `inTenant` for a request naming one record: when `body` finds no such record (`notFound`, which may mean
    /// another library's id), the probe is audited as `access.unknown_resource` in a transaction of its own, since
    /// the request's transaction rolls back, and the 404 goes out.
    public func inTenant<T: Sendable, NotFound: Error & Equatable>(
        _ permission: Permission, _ context: KringRequestContext, record id: UUID, _ subjectType: String, notFound: NotFound,
        probing customers: [UUID] = [], _ body: (TenantTransaction, AuditActor, Date) async throws -> T
    ) async throws -> T {
        do {
            return try await inTenant(permission, context, probing: customers, body)
        } catch let error as NotFound where error == notFound {
            try await auditUnknownResource(subjectType, id: id, permission: permission, context)
            throw error
        }
    }
}
