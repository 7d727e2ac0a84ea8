import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// One statement of consent: given, confirmed (double opt-in) or withdrawn, with its evidence.
public struct Consent: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case optedIn = "opted_in"
        case confirmed, withdrawn
    }
    public enum Source: String, Sendable, Codable, CaseIterable {
        case `import`, staff
        case webForm = "web_form"
        case merge
    }

    public let id: Int64
    public let customerID: UUID
    /// A subscription list or channel, e.g. `newsletter:weekly` or `channel:sms`.
    public let topic: String
    public let status: Status
    public let recordedAt: Date
    public let source: Source
    public let staffUserID: UUID?
    public let apiKeyID: String?
    public let evidence: [String: String]
    /// Hash of the consent text the customer agreed to.
    public let textVersion: String?
    public let confirmedAt: Date?
    public let withdrawnAt: Date?
    public let givenByParentID: UUID?

    static let columns = """
        id, customer_id, topic, status, recorded_at, source, staff_user_id, api_key_id, evidence::text, text_version,
        confirmed_at, withdrawn_at, given_by_parent_id
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(Int64.self)
        customerID = try c[1].decode(UUID.self)
        topic = try c[2].decode(String.self)
        status = try c[3].decodeEnum(Status.self)
        recordedAt = try c[4].decode(Date.self)
        source = try c[5].decodeEnum(Source.self)
        staffUserID = try c[6].decode(UUID?.self)
        apiKeyID = try c[7].decode(String?.self)
        evidence = try c[8].decodeJSON([String: String].self)
        textVersion = try c[9].decode(String?.self)
        confirmedAt = try c[10].decode(Date?.self)
        withdrawnAt = try c[11].decode(Date?.self)
        givenByParentID = try c[12].decode(UUID?.self)
    }
}

/// A consent statement to record.
public struct ConsentDraft: Sendable, Decodable {
    public var topic: String
    public var status: String
    public var source: String?
    public var textVersion: String?
    public var givenByParentID: UUID?
    public var evidence: [String: String]?

    enum CodingKeys: String, CodingKey {
        case topic, status, source
        case textVersion = "text_version"
        case givenByParentID = "given_by_parent_id"
        case evidence
    }

    public init(
        topic: String, status: String, source: String? = nil, textVersion: String? = nil, givenByParentID: UUID? = nil,
        evidence: [String: String]? = nil
    ) {
        self.topic = topic
        self.status = status
        self.source = source
        self.textVersion = textVersion
        self.givenByParentID = givenByParentID
        self.evidence = evidence
    }
}

public enum Consents {
    /// Age below which a parent or guardian gives consent (AVG art. 8, as implemented in the Netherlands).
    public static let ageOfConsent = 16

    /// Appends a statement to the customer's consent history; history is never overwritten.
    public static func record(
        _ draft: ConsentDraft, customerID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Consent {
        var errors: [FieldError] = []
        let topic = draft.topic.trimmingCharacters(in: .whitespaces).lowercased()
        if topic.range(of: "^[a-z0-9][a-z0-9:._-]{0,79}$", options: .regularExpression) == nil {
            errors.append(FieldError(field: "topic", message: "Use lowercase letters, digits and : . _ - (e.g. newsletter:weekly)."))
        }
        let status = Consent.Status(rawValue: draft.status)
        if status == nil { errors.append(FieldError(field: "status", message: "Use opted_in, confirmed or withdrawn.")) }
        let source = Consent.Source(rawValue: draft.source ?? "staff")
        if source == nil || source == .merge { errors.append(FieldError(field: "source", message: "Use staff, import or web_form.")) }
        if let version = draft.textVersion, version.count > 128 {
            errors.append(FieldError(field: "text_version", message: "Use at most 128 characters."))
        }

        let customer = try await Customers.require(id: customerID, forUpdate: false, in: tx)
        if customer.erasedAt != nil { throw CustomerError.erased }
        if let parentID = draft.givenByParentID {
            // Checked for every statement, so a reference the database would refuse is a 422, never a 500.
            let parent: Customer
            do {
                parent = try await Customers.require(id: parentID, forUpdate: false, in: tx)
            } catch CustomerError.notFound, CustomerError.merged {
                throw CustomerError.unknownReference(field: "given_by_parent_id", id: parentID)
            }
            if let parentBirth = parent.birthDate, parentBirth.years(until: CalendarDate(now)) < 18 {
                errors.append(FieldError(field: "given_by_parent_id", message: "The parent or guardian must be an adult."))
            }
        } else if status != .withdrawn, let birth = customer.birthDate, birth.years(until: CalendarDate(now)) < ageOfConsent {
            errors.append(FieldError(field: "given_by_parent_id", message: "Under \(ageOfConsent), a parent or guardian gives consent: name them."))
        }
        guard errors.isEmpty, let status, let source else { throw CustomerError.invalid(errors) }

        let evidence = String(decoding: try JSONEncoder().encode(draft.evidence ?? [:]), as: UTF8.self)
        let rows = try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source, staff_user_id, api_key_id, evidence, text_version,
                                  confirmed_at, withdrawn_at, given_by_parent_id)
            VALUES (\(customerID), \(topic), \(status.rawValue), \(now), \(source.rawValue), \(actor.userID), \(actor.apiKeyID), \(evidence)::jsonb,
                    \(draft.textVersion), \(status == .confirmed ? now : nil), \(status == .withdrawn ? now : nil), \(draft.givenByParentID))
            RETURNING \(unescaped: Consent.columns)
            """)
        for try await row in rows {
            let consent = try Consent(row: row)
            try await TenantAudit.record(
                "consent.recorded", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: actor,
                details: ["topic": topic, "status": status.rawValue], at: now, in: tx)
            try await Timeline.recordSystemEvent("consent.\(status.rawValue)", customerID: customerID, actor: actor, subject: topic, at: now, in: tx)
            return consent
        }
        throw NoRowReturned()
    }

    /// The whole history, oldest first.
    public static func history(customerID: UUID, in tx: TenantTransaction) async throws -> [Consent] {
        _ = try await Customers.require(id: customerID, forUpdate: false, in: tx)
        let rows = try await tx.query("SELECT \(unescaped: Consent.columns) FROM consents WHERE customer_id = \(customerID) ORDER BY recorded_at, id")
        var consents: [Consent] = []
        for try await row in rows { consents.append(try Consent(row: row)) }
        return consents
    }

    /// The latest statement per topic: what holds now.
    public static func current(customerID: UUID, in tx: TenantTransaction) async throws -> [Consent] {
        try await tx.rows(ProfileStatements.Consents(id: customerID)).map(Consent.init(row:))
    }
}
