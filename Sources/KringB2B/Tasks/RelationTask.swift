import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A task or reminder in relationship management: a follow-up of a visit, a renewal to prepare.
/// (Not `Task`, which is Swift's.)
public struct RelationTask: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case task, renewal }
    public enum Status: String, Sendable, Codable, CaseIterable { case open, done, cancelled }

    public let id: UUID
    public let kind: Kind
    public let title: String
    public let notes: String?
    public let dueOn: CalendarDate
    public let assigneeUserID: UUID?
    public let organisationID: UUID?
    public let contactID: UUID?
    public let interactionID: UUID?
    public let agreementID: UUID?
    public let status: Status
    /// Open and due before today (in the Netherlands), on the day it was read.
    public var overdue: Bool
    /// When the reminder job found it overdue and notified the assignee.
    public let overdueMarkedAt: Date?
    public let completedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = """
        t.id, t.kind, t.title, t.notes, t.due_on::text, t.assignee_user_id, t.organisation_id, t.contact_id, t.interaction_id,
        t.agreement_id, t.status, t.overdue_marked_at, t.completed_at, t.created_at, t.updated_at
        """

    init(row: PostgresRow, today: CalendarDate) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        kind = try c[1].decodeEnum(Kind.self)
        title = try c[2].decode(String.self)
        notes = try c[3].decode(String?.self)
        dueOn = try c[4].decodeCalendarDate(CalendarDate.self)
        assigneeUserID = try c[5].decode(UUID?.self)
        organisationID = try c[6].decode(UUID?.self)
        contactID = try c[7].decode(UUID?.self)
        interactionID = try c[8].decode(UUID?.self)
        agreementID = try c[9].decode(UUID?.self)
        status = try c[10].decodeEnum(Status.self)
        overdueMarkedAt = try c[11].decode(Date?.self)
        completedAt = try c[12].decode(Date?.self)
        createdAt = try c[13].decode(Date.self)
        updatedAt = try c[14].decode(Date.self)
        overdue = status == .open && dueOn < today
    }
}

/// What staff send to create a task.
public struct TaskDraft: Sendable, Decodable {
    public var title: String?
    public var notes: String?
    public var dueOn: String?
    public var assigneeUserID: UUID?
    public var organisationID: UUID?
    public var contactID: UUID?
    public var interactionID: UUID?

    enum CodingKeys: String, CodingKey {
        case title, notes
        case dueOn = "due_on"
        case assigneeUserID = "assignee_user_id"
        case organisationID = "organisation_id"
        case contactID = "contact_id"
        case interactionID = "interaction_id"
    }

    public init(
        title: String?, dueOn: String?, assigneeUserID: UUID? = nil, organisationID: UUID? = nil, contactID: UUID? = nil,
        interactionID: UUID? = nil, notes: String? = nil
    ) {
        self.title = title
        self.dueOn = dueOn
        self.assigneeUserID = assigneeUserID
        self.organisationID = organisationID
        self.contactID = contactID
        self.interactionID = interactionID
        self.notes = notes
    }

    public struct Valid: Sendable {
        public var title: String
        public var notes: String?
        public var dueOn: CalendarDate
        public var assigneeUserID: UUID?
        public var organisationID: UUID?
        public var contactID: UUID?
        public var interactionID: UUID?
    }

    public func validate() throws(RelationsError) -> Valid {
        var v = Validator()
        let title = v.required(title, "title")
        let notes = v.text(notes, "notes", max: 4000)
        let due = v.requiredDate(dueOn, "due_on")
        try v.check()
        guard let due else { throw .invalid(v.errors) }
        return Valid(
            title: title, notes: notes, dueOn: due, assigneeUserID: assigneeUserID, organisationID: organisationID,
            contactID: contactID, interactionID: interactionID)
    }
}

/// A change to a task: mark it done, move it, hand it over.
public struct TaskChange: Sendable, Decodable {
    public var title: String?
    public var notes: String?
    public var dueOn: String?
    public var assigneeUserID: UUID?
    public var status: String?

    enum CodingKeys: String, CodingKey {
        case title, notes
        case dueOn = "due_on"
        case assigneeUserID = "assignee_user_id"
        case status
    }

    public init(title: String? = nil, notes: String? = nil, dueOn: String? = nil, assigneeUserID: UUID? = nil, status: String? = nil) {
        self.title = title
        self.notes = notes
        self.dueOn = dueOn
        self.assigneeUserID = assigneeUserID
        self.status = status
    }
}
