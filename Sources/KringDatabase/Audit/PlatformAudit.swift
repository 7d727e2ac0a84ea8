import Foundation
import PostgresNIO

/// An event in the platform's append-only audit log (`platform.audit_log`).
///
/// Details hold ids and outcomes, never personal data: no e-mail addresses, names, passwords or tokens.
public struct AuditEvent: Sendable {
    public var action: String
    public var tenantID: UUID?
    public var actorUserID: UUID?
    public var actorAPIKeyID: String?
    public var targetType: String?
    public var targetID: String?
    public var ip: String?
    public var details: [String: String]

    public init(
        action: String, tenantID: UUID? = nil, actorUserID: UUID? = nil, actorAPIKeyID: String? = nil,
        targetType: String? = nil, targetID: String? = nil, ip: String? = nil, details: [String: String] = [:]
    ) {
        self.action = action
        self.tenantID = tenantID
        self.actorUserID = actorUserID
        self.actorAPIKeyID = actorAPIKeyID
        self.targetType = targetType
        self.targetID = targetID
        self.ip = ip
        self.details = details
    }
}

public enum PlatformAudit {
    public static func record(_ event: AuditEvent, at time: Date, in tx: PlatformTransaction) async throws {
        let details = String(decoding: try JSONEncoder().encode(event.details), as: UTF8.self)
        try await tx.query(
            """
            INSERT INTO platform.audit_log (at, tenant_id, actor_user_id, actor_api_key_id, action, target_type, target_id, ip, details)
            VALUES (\(time), \(event.tenantID), \(event.actorUserID), \(event.actorAPIKeyID), \(event.action),
                    \(event.targetType), \(event.targetID), \(event.ip), \(details)::jsonb)
            """)
    }

    /// Records in a transaction of its own, for events that must survive the request's rollback
    /// (a failed login, a reused refresh token).
    public static func record(_ event: AuditEvent, at time: Date, using db: Database) async {
        do {
            try await db.withPlatform { tx in try await record(event, at: time, in: tx) }
        } catch {
            db.logger.error("audit write failed", metadata: ["action": "\(event.action)", "error": "\(Migrator.describe(error))"])
        }
    }
}

/// The tenant's own audit log (`audit_log` in the tenant schema): who read or changed which personal data.
public enum TenantAudit {
    public static func record(
        action: String, subjectType: String, subjectID: String?, actorUserID: UUID?, actorAPIKeyID: String?,
        details: [String: String] = [:], at time: Date, in tx: TenantTransaction
    ) async throws {
        let row = try row(
            action: action, subjectType: subjectType, subjectID: subjectID, actorUserID: actorUserID, actorAPIKeyID: actorAPIKeyID,
            details: details, at: time)
        try await tx.query(sql: "INSERT INTO audit_log (\(columns)) VALUES (\(row))")
    }

    /// The columns of an audit record, for a statement that writes one along with other work (the customer search's
    /// `INSERT INTO audit_log (\(columns)) VALUES (\(row(...)))` in a CTE), saving a round trip on a hot path.
    public static let columns = SQL(unescaped: columnList)

    /// `columns` as text, for a prepared statement's fixed text.
    public static let columnList = "at, actor_user_id, actor_api_key_id, action, subject_type, subject_id, details"

    /// The values of `columns` for one record.
    public static func row(
        action: String, subjectType: String, subjectID: String?, actorUserID: UUID?, actorAPIKeyID: String?,
        details: [String: String] = [:], at time: Date
    ) throws -> SQL {
        let details = String(decoding: try JSONEncoder().encode(details), as: UTF8.self)
        return row(
            action: action, subjectType: subjectType, subjectID: subjectID, actorUserID: actorUserID, actorAPIKeyID: actorAPIKeyID,
            details: "\(details)::jsonb", at: time)
    }

    /// The values of `columns` for one record whose details the statement computes (a jsonb expression).
    public static func row(
        action: String, subjectType: String, subjectID: String?, actorUserID: UUID?, actorAPIKeyID: String?, details: SQL, at time: Date
    ) -> SQL {
        "\(time), \(actorUserID), \(actorAPIKeyID), \(action), \(subjectType), \(subjectID), \(details)"
    }
}
