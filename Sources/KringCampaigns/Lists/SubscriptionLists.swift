import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// The library's subscription lists: create, change, archive, and count their subscribers.
public enum SubscriptionLists {
    public static func create(
        _ draft: SubscriptionListDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> SubscriptionList {
        let valid = try draft.validated(requireKey: true)
        let id = UUID()
        let rows = try await tx.query(
            """
            INSERT INTO lists (id, key, name, description, consent_text, consent_version, public, archived_at, created_at, updated_at)
            VALUES (\(id), \(valid.key ?? ""), \(valid.name), \(valid.description), \(valid.consentText),
                    \(SubscriptionList.consentVersion(of: valid.consentText)), \(valid.public ?? true), \(valid.archived == true ? now : nil), \(now), \(now))
            ON CONFLICT (key) DO NOTHING
            RETURNING \(unescaped: SubscriptionList.columns)
            """)
        guard let list = try await first(rows) else { throw ListError.duplicateKey }
        try await TenantAudit.record(
            "list.created", subjectType: "list", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["key": list.key], at: now, in: tx)
        return list
    }

    /// Replaces name, description, consent text (a new text gets a new version) and visibility; `archived` archives
    /// or restores. The key never changes: statements on the list's topic must keep meaning the same list.
    public static func replace(
        id: UUID, with draft: SubscriptionListDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> SubscriptionList {
        let valid = try draft.validated(requireKey: false)
        let current = try await find(id: id, forUpdate: true, in: tx)
        if let key = valid.key, key != current.key { throw ListError.keyChanged }
        let archivedAt: Date? =
            switch valid.archived {
            case .some(true): current.archivedAt ?? now
            case .some(false): nil
            case .none: current.archivedAt
            }
        let rows = try await tx.query(
            """
            UPDATE lists SET name = \(valid.name), description = \(valid.description), consent_text = \(valid.consentText),
                consent_version = \(SubscriptionList.consentVersion(of: valid.consentText)), public = \(valid.public ?? current.public),
                archived_at = \(archivedAt), updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: SubscriptionList.columns)
            """)
        guard let list = try await first(rows) else { throw ListError.notFound }
        var fields: [String] = []
        if list.name != current.name { fields.append("name") }
        if list.description != current.description { fields.append("description") }
        if list.consentVersion != current.consentVersion { fields.append("consent_text") }
        if list.public != current.public { fields.append("public") }
        if list.archivedAt != current.archivedAt { fields.append(list.archivedAt == nil ? "restored" : "archived") }
        try await TenantAudit.record(
            "list.updated", subjectType: "list", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["fields": fields.joined(separator: " "), "consent_version": list.consentVersion], at: now, in: tx)
        return list
    }

    public static func find(id: UUID, forUpdate: Bool = false, in tx: TenantTransaction) async throws -> SubscriptionList {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: SubscriptionList.columns) FROM lists WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        guard let list = try await first(rows) else { throw ListError.notFound }
        return list
    }

    /// Lists by id (keyset: `after` is the last id of the previous page), archived ones included.
    public static func list(after: UUID?, limit: Int, in tx: TenantTransaction) async throws -> [SubscriptionList] {
        try await all(
            try await tx.query(
                """
                SELECT \(unescaped: SubscriptionList.columns) FROM lists WHERE \(after == nil) OR id > \(after ?? UUID()) ORDER BY id LIMIT \(limit)
                """))
    }

    /// The lists offered to the public (sign-up form, preference centre), by name.
    public static func publicLists(in tx: TenantTransaction) async throws -> [SubscriptionList] {
        try await all(
            try await tx.query(
                """
                SELECT \(unescaped: SubscriptionList.columns) FROM lists WHERE public AND archived_at IS NULL ORDER BY name, id
                """))
    }

    /// Subscribers by their latest statement on the list's topic; erased and merged customers are not counted.
    public static func subscriberCounts(id: UUID, in tx: TenantTransaction) async throws -> SubscriberCounts {
        let list = try await find(id: id, in: tx)
        return try await subscriberCounts(of: [list], in: tx)[0]
    }

    /// The same for several lists in one query, in the order of `lists`.
    public static func subscriberCounts(of lists: [SubscriptionList], in tx: TenantTransaction) async throws -> [SubscriberCounts] {
        var counts = Dictionary(uniqueKeysWithValues: lists.map { ($0.id, SubscriberCounts(listID: $0.id)) })
        guard !lists.isEmpty else { return [] }
        let byTopic = Dictionary(lists.map { ($0.topic, $0.id) }, uniquingKeysWith: { first, _ in first })
        let rows = try await tx.query(
            """
            SELECT latest.topic, latest.status, count(*) FROM consent_state latest JOIN customers c ON c.id = latest.customer_id
            WHERE latest.topic = ANY(\(Array(byTopic.keys))) AND c.erased_at IS NULL AND c.merged_into IS NULL
            GROUP BY latest.topic, latest.status
            """)
        for try await (topic, status, count) in rows.decode((String, String, Int).self) {
            guard let id = byTopic[topic] else { continue }
            switch try UnreadableColumn.enumValue(Consent.Status.self, status, column: "status") {
            case .optedIn: counts[id]?.pending = count
            case .confirmed: counts[id]?.confirmed = count
            case .withdrawn: counts[id]?.withdrawn += count
            }
        }
        return lists.compactMap { counts[$0.id] }
    }

    /// The latest statement of `customerID` per list topic: `[topic: status]`.
    public static func statuses(customerID: UUID, in tx: TenantTransaction) async throws -> [String: String] {
        let rows = try await tx.query(
            """
            SELECT topic, status FROM consent_state WHERE customer_id = \(customerID) AND topic LIKE 'list:%'
            """)
        var statuses: [String: String] = [:]
        for try await (topic, status) in rows.decode((String, String).self) { statuses[topic] = status }
        return statuses
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> SubscriptionList? {
        for try await row in rows { return try SubscriptionList(row: row) }
        return nil
    }

    private static func all(_ rows: PostgresRowSequence) async throws -> [SubscriptionList] {
        var lists: [SubscriptionList] = []
        for try await row in rows { lists.append(try SubscriptionList(row: row)) }
        return lists
    }
}
