import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// One person in an organisation's decision-making unit, as the account view shows them.
public struct DMUMember: Sendable, Codable, Equatable {
    public let contactID: UUID
    public let roleID: UUID
    public let name: String
    public let jobTitle: String?
    public let email: String?
    public let phone: String?
    public let activeFrom: CalendarDate
}

/// The people in an organisation's decision-making unit today, grouped by their role.
public struct DecisionMakingUnit: Sendable, Codable, Equatable {
    public var decisionMaker: [DMUMember] = []
    public var advisor: [DMUMember] = []
    public var gatekeeper: [DMUMember] = []
    public var user: [DMUMember] = []
    public var influencer: [DMUMember] = []

    public subscript(role: DMURole) -> [DMUMember] {
        get {
            switch role {
            case .decisionMaker: decisionMaker
            case .advisor: advisor
            case .gatekeeper: gatekeeper
            case .user: user
            case .influencer: influencer
            }
        }
        set {
            switch role {
            case .decisionMaker: decisionMaker = newValue
            case .advisor: advisor = newValue
            case .gatekeeper: gatekeeper = newValue
            case .user: user = newValue
            case .influencer: influencer = newValue
            }
        }
    }

    public var isEmpty: Bool { DMURole.allCases.allSatisfy { self[$0].isEmpty } }
}

/// Everything an account manager needs about one organisation, in one answer.
public struct AccountView: Sendable, Codable {
    public let organisation: Organisation
    public let parent: OrganisationRef?
    public let members: [OrganisationRef]
    public let dmu: DecisionMakingUnit
    public let openTasks: [RelationTask]
    public let lastInteractions: [Interaction]
    public let ordersThisYear: [Order]
    public let ordersThisYearAmountCents: Int
    public let agreements: [Agreement]
}

extension Organisations {
    /// The account view. Reading it reads the DMU's personal data: one audit row per person shown.
    public static func accountView(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> AccountView {
        let organisation = try await require(id: id, forUpdate: false, in: tx)
        let today = CalendarDate(now)
        var parent: OrganisationRef?
        if let parentID = organisation.parentID { parent = try await refs(id: parentID, parentID: nil, in: tx).first }
        let members = try await refs(id: nil, parentID: id, in: tx)

        let openTasks = try await RelationTasks.list(RelationTasks.Filter(status: .open, organisationID: id, limit: 50), now: now, in: tx)
        let interactions = try await Interactions.list(Interactions.Filter(organisationID: id, limit: 10), in: tx)
        let orders = try await Orders.list(Orders.Filter(organisationID: id, year: today.year, limit: 200), in: tx)
        let agreements = try await Agreements.list(Agreements.Filter(organisationID: id, limit: 50), in: tx)

        try await TenantAudit.record("organisation.account_view", subjectType: "organisation", subjectID: id.lowercased, by: actor, at: now, in: tx)
        let dmu = try await decisionMakingUnit(id: id, via: "account_view", by: actor, now: now, in: tx)
        return AccountView(
            organisation: organisation, parent: parent, members: members, dmu: dmu, openTasks: openTasks, lastInteractions: interactions,
            ordersThisYear: orders, ordersThisYearAmountCents: orders.filter { $0.status != .cancelled }.reduce(0) { $0 + $1.amountCents },
            agreements: agreements)
    }

    /// The people with a role at the organisation today, by DMU role. Showing them reads their personal data: one
    /// `contact.read` audit row per person, naming the organisation and `via` (the page that showed them).
    public static func decisionMakingUnit(
        id: UUID, via: String, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> DecisionMakingUnit {
        let today = CalendarDate(now)
        var dmu = DecisionMakingUnit()
        let rows = try await tx.query(
            """
            SELECT c.id, r.id, concat_ws(' ', c.first_name, c.infix, c.last_name), r.job_title, c.email, c.phone, r.active_from::text, r.dmu_role
            FROM contact_roles r JOIN contacts c ON c.id = r.contact_id
            WHERE r.organisation_id = \(id) AND r.active_from <= \(today.sql)::date AND (r.active_to IS NULL OR r.active_to >= \(today.sql)::date)
            ORDER BY c.last_name, c.id, r.id
            """)
        var shown: Set<UUID> = []
        for try await (contactID, roleID, name, title, email, phone, from, role) in rows.decode(
            (UUID, UUID, String, String?, String?, String?, String, String).self)
        {
            let dmuRole = try UnreadableColumn.enumValue(DMURole.self, role, column: "dmu_role")
            dmu[dmuRole].append(
                DMUMember(
                    contactID: contactID, roleID: roleID, name: name, jobTitle: title, email: email, phone: phone,
                    activeFrom: try UnreadableColumn.calendarDate(from, column: "active_from")))
            shown.insert(contactID)
        }
        for contactID in shown.sorted(by: { $0.uuidString < $1.uuidString }) {
            try await TenantAudit.record(
                "contact.read", subjectType: "contact", subjectID: contactID.lowercased, by: actor,
                details: ["via": via, "organisation": id.lowercased], at: now, in: tx)
        }
        return dmu
    }

    /// Organisations by id or by parent, as references.
    private static func refs(id: UUID?, parentID: UUID?, in tx: TenantTransaction) async throws -> [OrganisationRef] {
        let rows = try await tx.query(
            """
            SELECT o.id, o.name, o.type, o.status FROM organisations o
            WHERE (\(id)::uuid IS NULL OR o.id = \(id)) AND (\(parentID)::uuid IS NULL OR o.parent_id = \(parentID))
            ORDER BY o.name, o.id
            """)
        var refs: [OrganisationRef] = []
        for try await (id, name, type, status) in rows.decode((UUID, String, String, String).self) {
            refs.append(
                OrganisationRef(
                    id: id, name: name, type: type, status: try UnreadableColumn.enumValue(Organisation.Status.self, status, column: "status")))
        }
        return refs
    }
}
