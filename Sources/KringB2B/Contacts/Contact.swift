import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A person at one or more organisations. What they do where is in their `ContactRole`s.
public struct Contact: Sendable, Codable, Equatable {
    public let id: UUID
    public let version: Int
    public var firstName: String?
    public var infix: String?
    public var lastName: String
    public var email: String?
    public var phone: String?
    public var notes: String?
    public let createdAt: Date
    public var updatedAt: Date

    static let columns = "c.id, c.version, c.first_name, c.infix, c.last_name, c.email, c.phone, c.notes, c.created_at, c.updated_at"

    init(row: PostgresRow) throws {
        (id, version, firstName, infix, lastName, email, phone, notes, createdAt, updatedAt) =
            try row.decode((UUID, Int, String?, String?, String, String?, String?, String?, Date, Date).self)
    }

    /// "Karin de Boer", for staff screens.
    public var displayName: String {
        [firstName, infix, lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}

/// A role in an organisation's decision-making unit (DMU).
public enum DMURole: String, Sendable, Codable, CaseIterable {
    case decisionMaker = "decision_maker"
    case advisor, gatekeeper, user, influencer
}

/// A person's role at one organisation for a period. Ending it (`active_to`) keeps it as history.
public struct ContactRole: Sendable, Codable, Equatable {
    public let id: UUID
    public let contactID: UUID
    public let organisationID: UUID
    public let organisationName: String
    public let dmuRole: DMURole
    public let jobTitle: String?
    public let activeFrom: CalendarDate
    public let activeTo: CalendarDate?

    static let columns = "r.id, r.contact_id, r.organisation_id, o.name, r.dmu_role, r.job_title, r.active_from::text, r.active_to::text"

    init(row: PostgresRow) throws {
        let (id, contactID, organisationID, name, role, title, from, to) =
            try row.decode((UUID, UUID, UUID, String, String, String?, String, String?).self)
        self.id = id
        self.contactID = contactID
        self.organisationID = organisationID
        self.organisationName = name
        self.dmuRole = try UnreadableColumn.enumValue(DMURole.self, role, column: "dmu_role")
        self.jobTitle = title
        self.activeFrom = try UnreadableColumn.calendarDate(from, column: "active_from")
        self.activeTo = try to.map { try UnreadableColumn.calendarDate($0, column: "active_to") }
    }

    public func isActive(on day: CalendarDate) -> Bool {
        activeFrom <= day && (activeTo.map { $0 >= day } ?? true)
    }
}

/// What staff send to create or replace a person.
public struct ContactDraft: Sendable, Decodable, Equatable {
    public var firstName: String?
    public var infix: String?
    public var lastName: String?
    public var email: String?
    public var phone: String?
    public var notes: String?
    /// Roles to give the new contact (create only).
    public var roles: [ContactRoleDraft]?

    enum CodingKeys: String, CodingKey {
        case firstName = "first_name"
        case infix
        case lastName = "last_name"
        case email, phone, notes, roles
    }

    public init(
        firstName: String? = nil, infix: String? = nil, lastName: String?, email: String? = nil, phone: String? = nil,
        notes: String? = nil, roles: [ContactRoleDraft]? = nil
    ) {
        self.firstName = firstName
        self.infix = infix
        self.lastName = lastName
        self.email = email
        self.phone = phone
        self.notes = notes
        self.roles = roles
    }

    public struct Valid: Sendable, Equatable {
        public var firstName: String?
        public var infix: String?
        public var lastName: String
        public var email: String?
        public var phone: String?
        public var notes: String?
        public var roles: [ContactRoleDraft.Valid]
    }

    public func validate(today: CalendarDate) throws(RelationsError) -> Valid {
        var v = Validator()
        var valid = Valid(
            firstName: v.text(firstName, "first_name", max: 100), infix: v.text(infix, "infix", max: 30),
            lastName: v.required(lastName, "last_name", max: 150), email: v.email(email, "email"),
            phone: v.phone(phone, "phone"), notes: v.text(notes, "notes", max: 4000), roles: [])
        for (index, role) in (roles ?? []).enumerated() {
            do {
                valid.roles.append(try role.validate(today: today))
            } catch {
                if case .invalid(let errors) = error {
                    for error in errors { v.fail("roles[\(index)].\(error.field)", error.message) }
                }
            }
        }
        try v.check()
        return valid
    }
}

/// A role to give a person at an organisation.
public struct ContactRoleDraft: Sendable, Decodable, Equatable {
    public var organisationID: UUID?
    public var dmuRole: String?
    public var jobTitle: String?
    public var activeFrom: String?
    public var activeTo: String?

    enum CodingKeys: String, CodingKey {
        case organisationID = "organisation_id"
        case dmuRole = "dmu_role"
        case jobTitle = "job_title"
        case activeFrom = "active_from"
        case activeTo = "active_to"
    }

    public init(organisationID: UUID?, dmuRole: String?, jobTitle: String? = nil, activeFrom: String? = nil, activeTo: String? = nil) {
        self.organisationID = organisationID
        self.dmuRole = dmuRole
        self.jobTitle = jobTitle
        self.activeFrom = activeFrom
        self.activeTo = activeTo
    }

    public struct Valid: Sendable, Equatable {
        public var organisationID: UUID
        public var dmuRole: DMURole
        public var jobTitle: String?
        public var activeFrom: CalendarDate
        public var activeTo: CalendarDate?
    }

    /// `active_from` defaults to `today`.
    public func validate(today: CalendarDate) throws(RelationsError) -> Valid {
        var v = Validator()
        if organisationID == nil { v.fail("organisation_id", "Name the organisation.") }
        let role: DMURole? = v.choice(dmuRole, "dmu_role")
        let title = v.text(jobTitle, "job_title", max: 150)
        let from = v.date(activeFrom, "active_from") ?? today
        let to = v.date(activeTo, "active_to")
        v.period(from, to, endField: "active_to", startField: "active_from")
        try v.check()
        guard let organisationID, let role else { throw .invalid(v.errors) }
        return Valid(organisationID: organisationID, dmuRole: role, jobTitle: title, activeFrom: from, activeTo: to)
    }
}

/// A change to a role: end it (the person left), or correct its DMU role or job title.
public struct ContactRoleChange: Sendable, Decodable, Equatable {
    public var dmuRole: String?
    public var jobTitle: String?
    public var activeTo: String?

    enum CodingKeys: String, CodingKey {
        case dmuRole = "dmu_role"
        case jobTitle = "job_title"
        case activeTo = "active_to"
    }

    public init(dmuRole: String? = nil, jobTitle: String? = nil, activeTo: String? = nil) {
        self.dmuRole = dmuRole
        self.jobTitle = jobTitle
        self.activeTo = activeTo
    }
}

/// One person with every role they held (newest first) and their consents in force.
public struct ContactDetail: Sendable, Codable {
    public let contact: Contact
    public let roles: [ContactRole]
    public let consents: [ContactConsent]
}
