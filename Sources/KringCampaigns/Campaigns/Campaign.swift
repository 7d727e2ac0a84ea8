import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A mailing: one-off to a segment or a list, a journey (automated, see `Journey`), or the library's transactional
/// mails. Sends are snapshotted per recipient (`sends`), so a recipient never gets the same campaign twice.
public struct Campaign: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case oneOff = "one_off"
        case journey, transactional
    }
    /// Marketing needs a list the recipient confirmed; service mails (reminders, confirmations) go to the customers
    /// they concern. Both skip addresses that bounced hard, complained or were erased; only marketing skips those
    /// who unsubscribed from all.
    public enum Purpose: String, Sendable, Codable, CaseIterable { case marketing, service }
    public enum State: String, Sendable, Codable, CaseIterable { case draft, scheduled, sending, sent, paused, cancelled, active }

    public let id: UUID
    public let name: String
    public let kind: Kind
    public let purpose: Purpose
    /// Whom it mails: customers (b2c) or contacts at organisations (b2b, one-off campaigns only).
    public let audience: Segment.Subject
    public let state: State
    public let listID: UUID?
    public let segmentID: UUID?
    public let segmentVersion: Int?
    public let templateID: UUID?
    public let templateVersion: Int?
    public let subject: String?
    public let subjectB: String?
    public let fromName: String?
    public let fromAddress: String?
    public let replyTo: String?
    public let priority: Int
    public let journey: Journey?
    public let scheduledAt: Date?
    public let startedAt: Date?
    public let finishedAt: Date?
    public let recipients: Int?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = """
        id, name, kind, purpose, state, list_id, segment_id, segment_version, template_id, template_version, subject, subject_b, \
        from_name, from_address, reply_to, priority, journey::text, scheduled_at, started_at, finished_at, recipients, created_at, updated_at, \
        audience
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        name = try c[1].decode(String.self)
        kind = try c[2].decodeEnum(Kind.self)
        purpose = try c[3].decodeEnum(Purpose.self)
        state = try c[4].decodeEnum(State.self)
        listID = try c[5].decode(UUID?.self)
        segmentID = try c[6].decode(UUID?.self)
        segmentVersion = try c[7].decode(Int?.self)
        templateID = try c[8].decode(UUID?.self)
        templateVersion = try c[9].decode(Int?.self)
        subject = try c[10].decode(String?.self)
        subjectB = try c[11].decode(String?.self)
        fromName = try c[12].decode(String?.self)
        fromAddress = try c[13].decode(String?.self)
        replyTo = try c[14].decode(String?.self)
        priority = try c[15].decode(Int.self)
        journey = try c[16].decodeJSON(Journey?.self)
        scheduledAt = try c[17].decode(Date?.self)
        startedAt = try c[18].decode(Date?.self)
        finishedAt = try c[19].decode(Date?.self)
        recipients = try c[20].decode(Int?.self)
        createdAt = try c[21].decode(Date.self)
        updatedAt = try c[22].decode(Date.self)
        audience = try c[23].decodeEnum(Segment.Subject.self)
    }
}

/// A campaign to create or change (only while it is a draft or paused).
public struct CampaignDraft: Sendable, Codable {
    public var name: String
    public var kind: String?
    public var purpose: String?
    /// b2c or b2b; when absent, the segment's subject (b2c without a segment).
    public var audience: String?
    public var listID: UUID?
    public var segmentID: UUID?
    public var templateID: UUID?
    public var subject: String?
    public var subjectB: String?
    public var fromName: String?
    public var fromAddress: String?
    public var replyTo: String?
    public var journey: Journey?

    enum CodingKeys: String, CodingKey {
        case name, kind, purpose, audience
        case listID = "list_id"
        case segmentID = "segment_id"
        case templateID = "template_id"
        case subject
        case subjectB = "subject_b"
        case fromName = "from_name"
        case fromAddress = "from_address"
        case replyTo = "reply_to"
        case journey
    }

    public init(
        name: String, kind: Campaign.Kind = .oneOff, purpose: Campaign.Purpose = .marketing, listID: UUID? = nil, segmentID: UUID? = nil,
        templateID: UUID? = nil, subject: String? = nil, subjectB: String? = nil, fromName: String? = nil, fromAddress: String? = nil,
        replyTo: String? = nil, journey: Journey? = nil, audience: Segment.Subject? = nil
    ) {
        self.name = name
        self.kind = kind.rawValue
        self.purpose = purpose.rawValue
        self.audience = audience?.rawValue
        self.listID = listID
        self.segmentID = segmentID
        self.templateID = templateID
        self.subject = subject
        self.subjectB = subjectB
        self.fromName = fromName
        self.fromAddress = fromAddress
        self.replyTo = replyTo
        self.journey = journey
    }

    /// The checked draft: field errors answer 422 with every problem at once.
    func validate() throws -> (kind: Campaign.Kind, purpose: Campaign.Purpose, draft: CampaignDraft) {
        var errors: [FieldError] = []
        var draft = self
        draft.name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if draft.name.isEmpty || draft.name.count > 200 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 200 characters.")) }
        let kind = Campaign.Kind(rawValue: self.kind ?? "one_off")
        if kind == nil || kind == .transactional {
            errors.append(FieldError(field: "kind", message: "Use one_off or journey."))
        }
        let purpose = Campaign.Purpose(rawValue: self.purpose ?? "marketing")
        if purpose == nil { errors.append(FieldError(field: "purpose", message: "Use marketing or service.")) }
        // Whether the audience fits the kind and the segment is checked with the segment (Campaigns.checkReferences).
        if let audience, Segment.Subject(rawValue: audience) == nil {
            errors.append(FieldError(field: "audience", message: Segment.Subject.choices))
        }
        for (field, value, limit) in [("subject", subject, 500), ("subject_b", subjectB, 500), ("from_name", fromName, 200)] {
            if let value, value.isEmpty || value.count > limit || value.contains(where: { $0.isNewline }) {
                errors.append(FieldError(field: field, message: "Give one line of 1 to \(limit) characters."))
            }
        }
        for (field, value) in [("from_address", fromAddress), ("reply_to", replyTo)] {
            if let value, EmailAddress(value) == nil { errors.append(FieldError(field: field, message: "Not a valid e-mail address.")) }
        }
        if kind == .journey {
            if let journey {
                errors += journey.validate()
            } else {
                errors.append(FieldError(field: "journey", message: "A journey needs a trigger and steps."))
            }
        } else if journey != nil {
            errors.append(FieldError(field: "journey", message: "Only a journey has a trigger and steps."))
        }
        guard errors.isEmpty, let kind, let purpose else { throw CampaignError.invalid(errors) }
        return (kind, purpose, draft)
    }
}

/// What a campaign's mails did, for its report.
public struct CampaignStats: Sendable, Codable, Equatable {
    public struct Link: Sendable, Codable, Equatable {
        public let url: String
        public let uniqueClicks: Int
    }

    public let campaignID: UUID
    public let recipients: Int
    public let pending: Int
    public let sent: Int
    public let failed: Int
    /// Not mailed at delivery: suppressed since the snapshot, consent withdrawn, or a journey step's condition unmet.
    public let suppressed: Int
    public let skipped: Int
    public let delivered: Int
    public let bouncedHard: Int
    public let bouncedSoft: Int
    public let uniqueOpens: Int
    public let uniqueClicks: Int
    public let unsubscribed: Int
    public let complaints: Int
    /// Recipients who registered for an activity within `conversionDays` after the mail.
    public let conversions: Int
    public let conversionDays: Int
    public let links: [Link]
}

public enum CampaignError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case wrongState(String)

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors, detail: "The campaign has invalid fields.")
        case .notFound: .notFound("No such campaign in this library.")
        case .wrongState(let detail): .conflict(detail)
        }
    }
}
