import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// One statement of consent for relationship mailings: given, confirmed or withdrawn, with its evidence.
public struct ContactConsent: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case optedIn = "opted_in"
        case confirmed, withdrawn
    }
    public enum Source: String, Sendable, Codable, CaseIterable {
        case `import`, staff
        case webForm = "web_form"
    }

    public let id: Int64
    public let contactID: UUID
    /// A mailing, e.g. `relations:newsletter-po` or `relations:new-year`.
    public let topic: String
    public let status: Status
    public let recordedAt: Date
    public let source: Source
    public let staffUserID: UUID?
    public let apiKeyID: String?
    public let evidence: [String: String]
    /// Version (hash) of the consent text agreed to.
    public let textVersion: String?

    static let columns = "id, contact_id, topic, status, recorded_at, source, staff_user_id, api_key_id, evidence::text, text_version"

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(Int64.self)
        contactID = try c[1].decode(UUID.self)
        topic = try c[2].decode(String.self)
        status = try c[3].decodeEnum(Status.self)
        recordedAt = try c[4].decode(Date.self)
        source = try c[5].decodeEnum(Source.self)
        staffUserID = try c[6].decode(UUID?.self)
        apiKeyID = try c[7].decode(String?.self)
        evidence = try c[8].decodeJSON([String: String].self)
        textVersion = try c[9].decode(String?.self)
    }
}

/// A consent statement to record.
public struct ContactConsentDraft: Sendable, Decodable {
    public var topic: String
    public var status: String
    public var source: String?
    public var textVersion: String?
    public var evidence: [String: String]?

    enum CodingKeys: String, CodingKey {
        case topic, status, source
        case textVersion = "text_version"
        case evidence
    }

    public init(topic: String, status: String, source: String? = nil, textVersion: String? = nil, evidence: [String: String]? = nil) {
        self.topic = topic
        self.status = status
        self.source = source
        self.textVersion = textVersion
        self.evidence = evidence
    }
}

/// Consent history of contacts: appended to, never overwritten.
public enum ContactConsents {
    public static func record(
        _ draft: ContactConsentDraft, contactID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> ContactConsent {
        var v = Validator()
        let topic = draft.topic.trimmed().lowercased()
        if topic.range(of: "^[a-z0-9][a-z0-9:._-]{0,79}$", options: .regularExpression) == nil {
            v.fail("topic", "Use lowercase letters, digits and : . _ - (e.g. relations:newsletter-po).")
        }
        let status: ContactConsent.Status? = v.choice(draft.status, "status")
        let source: ContactConsent.Source? = v.choice(draft.source, "source", fallback: .staff)
        if let version = draft.textVersion, version.count > 128 { v.fail("text_version", "Use at most 128 characters.") }
        _ = try await Contacts.require(id: contactID, forUpdate: false, in: tx)
        try v.check()
        guard let status, let source else { throw RelationsError.invalid(v.errors) }
        let evidence = String(decoding: try JSONEncoder().encode(draft.evidence ?? [:]), as: UTF8.self)
        let rows = try await tx.query(
            """
            INSERT INTO contact_consents (contact_id, topic, status, recorded_at, source, staff_user_id, api_key_id, evidence, text_version)
            VALUES (\(contactID), \(topic), \(status.rawValue), \(now), \(source.rawValue), \(actor.userID), \(actor.apiKeyID), \(evidence)::jsonb,
                    \(draft.textVersion))
            RETURNING \(unescaped: ContactConsent.columns)
            """)
        guard let row = try await rows.first() else { throw NoRowReturned() }
        try await TenantAudit.record(
            "contact_consent.recorded", subjectType: "contact", subjectID: contactID.lowercased, by: actor,
            details: ["topic": topic, "status": status.rawValue], at: now, in: tx)
        return try ContactConsent(row: row)
    }

    /// The whole history, oldest first.
    public static func history(contactID: UUID, in tx: TenantTransaction) async throws -> [ContactConsent] {
        _ = try await Contacts.require(id: contactID, forUpdate: false, in: tx)
        let rows = try await tx.query(
            "SELECT \(unescaped: ContactConsent.columns) FROM contact_consents WHERE contact_id = \(contactID) ORDER BY recorded_at, id")
        var consents: [ContactConsent] = []
        for try await row in rows { consents.append(try ContactConsent(row: row)) }
        return consents
    }

    /// The latest statement per topic: what holds now.
    public static func current(contactID: UUID, in tx: TenantTransaction) async throws -> [ContactConsent] {
        let rows = try await tx.query(
            """
            SELECT DISTINCT ON (topic) \(unescaped: ContactConsent.columns) FROM contact_consents
            WHERE contact_id = \(contactID) ORDER BY topic, recorded_at DESC, id DESC
            """)
        var consents: [ContactConsent] = []
        for try await row in rows { consents.append(try ContactConsent(row: row)) }
        return consents
    }
}
