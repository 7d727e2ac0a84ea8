import Foundation
import PostgresNIO

/// Who did something, for audit rows and timeline entries: a staff user or an integration's API key.
public struct AuditActor: Sendable, Hashable {
    public let userID: UUID?
    public let apiKeyID: String?

    public init(userID: UUID?, apiKeyID: String?) {
        self.userID = userID
        self.apiKeyID = apiKeyID
    }

    /// Work done by Kring itself (an import job, a merge step).
    public static let system = AuditActor(userID: nil, apiKeyID: nil)
}

extension TenantAudit {
    public static func record(
        _ action: String, subjectType: String, subjectID: String?, by actor: AuditActor,
        details: [String: String] = [:], at time: Date, in tx: TenantTransaction
    ) async throws {
        try await record(
            action: action, subjectType: subjectType, subjectID: subjectID, actorUserID: actor.userID,
            actorAPIKeyID: actor.apiKeyID, details: details, at: time, in: tx)
    }
}

extension PostgresBindings {
    /// The actor's user id and API key id (or nulls), for the `actor_user_id, actor_api_key_id` of an audit record
    /// written by a prepared statement.
    public mutating func append(actor: AuditActor) {
        if let user = actor.userID { append(user) } else { appendNull() }
        if let key = actor.apiKeyID { append(key) } else { appendNull() }
    }
}
