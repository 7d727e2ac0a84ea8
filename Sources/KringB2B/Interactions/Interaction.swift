import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// An entry in an organisation's contact history: a meeting, a visit report, a call, a logged e-mail, a proposal or an agreement.
public struct Interaction: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case meeting
        case visitReport = "visit_report"
        case phoneCall = "phone_call"
        case email, proposal, agreement
    }

    public let id: UUID
    public let organisationID: UUID
    public let kind: Kind
    public let occurredAt: Date
    public let subject: String
    public let report: String?
    public let followUp: String?
    public let staffUserIDs: [UUID]
    public let contactIDs: [UUID]
    /// Tasks that follow from this interaction.
    public let followUpTaskIDs: [UUID]
    public let createdByUserID: UUID?
    public let createdAt: Date
    public let updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case organisationID = "organisation_id"
        case kind
        case occurredAt = "occurred_at"
        case subject, report
        case followUp = "follow_up"
        case staffUserIDs = "staff_user_ids"
        case contactIDs = "contact_ids"
        case followUpTaskIDs = "follow_up_task_ids"
        case createdByUserID = "created_by_user_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    static let columns = """
        i.id, i.organisation_id, i.kind, i.occurred_at, i.subject, i.report, i.follow_up, i.staff_user_ids,
        ARRAY(SELECT ic.contact_id FROM interaction_contacts ic WHERE ic.interaction_id = i.id ORDER BY ic.contact_id),
        ARRAY(SELECT t.id FROM tasks t WHERE t.interaction_id = i.id ORDER BY t.created_at, t.id),
        i.created_by_user_id, i.created_at, i.updated_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        organisationID = try c[1].decode(UUID.self)
        kind = try c[2].decodeEnum(Kind.self)
        occurredAt = try c[3].decode(Date.self)
        subject = try c[4].decode(String.self)
        report = try c[5].decode(String?.self)
        followUp = try c[6].decode(String?.self)
        staffUserIDs = try c[7].decode([UUID].self)
        contactIDs = try c[8].decode([UUID].self)
        followUpTaskIDs = try c[9].decode([UUID].self)
        createdByUserID = try c[10].decode(UUID?.self)
        createdAt = try c[11].decode(Date.self)
        updatedAt = try c[12].decode(Date.self)
    }
}

/// What staff send to log an interaction; `follow_up_task` creates its follow-up task in the same commit.
public struct InteractionDraft: Sendable, Decodable {
    public var organisationID: UUID?
    public var kind: String?
    public var occurredAt: Date?
    public var subject: String?
    public var report: String?
    public var followUp: String?
    public var staffUserIDs: [UUID]?
    public var contactIDs: [UUID]?
    public var followUpTask: TaskDraft?

    enum CodingKeys: String, CodingKey {
        case organisationID = "organisation_id"
        case kind
        case occurredAt = "occurred_at"
        case subject, report
        case followUp = "follow_up"
        case staffUserIDs = "staff_user_ids"
        case contactIDs = "contact_ids"
        case followUpTask = "follow_up_task"
    }

    public init(
        organisationID: UUID?, kind: String?, subject: String?, occurredAt: Date? = nil, report: String? = nil, followUp: String? = nil,
        staffUserIDs: [UUID]? = nil, contactIDs: [UUID]? = nil, followUpTask: TaskDraft? = nil
    ) {
        self.organisationID = organisationID
        self.kind = kind
        self.subject = subject
        self.occurredAt = occurredAt
        self.report = report
        self.followUp = followUp
        self.staffUserIDs = staffUserIDs
        self.contactIDs = contactIDs
        self.followUpTask = followUpTask
    }

    public struct Valid: Sendable {
        public var organisationID: UUID
        public var kind: Interaction.Kind
        public var occurredAt: Date
        public var subject: String
        public var report: String?
        public var followUp: String?
        public var staffUserIDs: [UUID]
        public var contactIDs: [UUID]
        public var followUpTask: TaskDraft.Valid?
    }

    /// Every staff user the draft names (participants and the follow-up's assignee), for the caller to check.
    public var namedStaff: [UUID] {
        (staffUserIDs ?? []) + [followUpTask?.assigneeUserID].compactMap { $0 }
    }

    public func validate(now: Date) throws(RelationsError) -> Valid {
        var v = Validator()
        if organisationID == nil { v.fail("organisation_id", "Name the organisation.") }
        let kind: Interaction.Kind? = v.choice(kind, "kind")
        let subject = v.required(subject, "subject")
        let report = v.text(report, "report", max: 20_000)
        let followUp = v.text(followUp, "follow_up", max: 4000)
        let occurred = occurredAt ?? now
        if occurred > now.addingTimeInterval(300) { v.fail("occurred_at", "Cannot lie in the future; plan it as a task.") }
        if (staffUserIDs?.count ?? 0) > 50 { v.fail("staff_user_ids", "Use at most 50.") }
        if (contactIDs?.count ?? 0) > 100 { v.fail("contact_ids", "Use at most 100.") }
        var task: TaskDraft.Valid?
        if let followUpTask {
            do {
                task = try followUpTask.validate()
            } catch {
                if case .invalid(let errors) = error { for error in errors { v.fail("follow_up_task.\(error.field)", error.message) } }
            }
        }
        try v.check()
        guard let organisationID, let kind else { throw .invalid(v.errors) }
        return Valid(
            organisationID: organisationID, kind: kind, occurredAt: occurred, subject: subject, report: report, followUp: followUp,
            staffUserIDs: Array(Set(staffUserIDs ?? [])).sorted { $0.uuidString < $1.uuidString },
            contactIDs: Array(Set(contactIDs ?? [])).sorted { $0.uuidString < $1.uuidString }, followUpTask: task)
    }
}
