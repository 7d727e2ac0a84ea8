import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Two libraries with an admin each, a second user and an API key in B: the cast of the cross-tenant tests.
struct TwoTenants {
    let env: TestEnvironment
    let clock: TestClock
    let services: AppServices
    let a: Tenant
    let b: Tenant
    let adminA: (id: UUID, email: String)
    let adminB: (id: UUID, email: String)
    let userB: (id: UUID, email: String)
    let keyB: APIKeys.Created

    static func make(suite: String) async throws -> TwoTenants {
        let env = try await TestEnvironment.forSuite(suite)
        let clock = TestClock(Date())
        let services = try await env.services(clock: clock)
        let a = try await env.createTenant("a")
        let b = try await env.createTenant("b")
        let adminA = try await env.createUser(in: a, role: .tenantAdmin)
        let adminB = try await env.createUser(in: b, role: .tenantAdmin)
        let userB = try await env.createUser(in: b, role: .marketing)
        let keyB = try await env.db.withPlatform { tx in
            try await APIKeys.create(
                tenantID: b.id, name: "ils export", scopes: ["imports:write"], expiresAt: nil,
                environment: "test", createdBy: adminB.id, now: clock.now, in: tx)
        }
        return TwoTenants(env: env, clock: clock, services: services, a: a, b: b, adminA: adminA, adminB: adminB, userB: userB, keyB: keyB)
    }

    func tenantAuditCount(_ action: String, tenant: Tenant) async throws -> Int {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*) FROM audit_log WHERE action = \(action)").decode(Int.self).reduce(0, +)
        }
    }

    func auditCount(_ action: String, tenant: Tenant) async throws -> Int {
        try await env.owner.withPlatform { tx in
            try await tx.query("SELECT count(*) FROM audit_log WHERE action = \(action) AND tenant_id = \(tenant.id)").decode(Int.self).reduce(0, +)
        }
    }
}

/// Every authenticated route with the permission that guards it and a body good enough to pass validation.
/// `{other}` stands for an id of the caller's own library (filled per test).
struct RouteCase: Sendable, CustomTestStringConvertible {
    let method: HTTPRequest.Method
    let path: String
    let permission: Permission
    let body: [String: any Sendable]?
    /// Sends `If-Match: "1"` (the version of a freshly created customer).
    var ifMatch = false
    /// A body that is not JSON (a CSV upload).
    var rawBody: String? = nil

    var testDescription: String { "\(method) \(path)" }

    static let all: [RouteCase] =
        [
            RouteCase(method: .get, path: "/api/v1/me", permission: .profileRead, body: nil),
            RouteCase(method: .post, path: "/api/v1/auth/logout", permission: .profileRead, body: nil),
            RouteCase(method: .get, path: "/api/v1/admin/tenants", permission: .tenantsManage, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/admin/tenants", permission: .tenantsManage, body: ["slug": "{newslug}", "name": "Nieuwe bibliotheek"]),
            RouteCase(method: .patch, path: "/api/v1/admin/tenants/{slug}", permission: .tenantsManage, body: ["name": "Bibliotheek a"]),
            RouteCase(method: .post, path: "/api/v1/admin/tenants/{slug}/users", permission: .tenantsManage, body: ["email": "{newemail}"]),
            RouteCase(method: .get, path: "/api/v1/users", permission: .usersRead, body: nil),
            RouteCase(method: .post, path: "/api/v1/users", permission: .usersManage, body: ["email": "{newemail}", "role": "analyst"]),
            RouteCase(method: .patch, path: "/api/v1/users/{user}", permission: .usersManage, body: ["role": "frontdesk"]),
            RouteCase(method: .get, path: "/api/v1/api-keys", permission: .apiKeysManage, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/api-keys", permission: .apiKeysManage, body: ["name": "ticketing", "scopes": ["customers:read"]]),
            RouteCase(method: .delete, path: "/api/v1/api-keys/{key}", permission: .apiKeysManage, body: nil),
            RouteCase(method: .get, path: "/api/v1/branches", permission: .branchesRead, body: nil),
            RouteCase(method: .post, path: "/api/v1/branches", permission: .branchesManage, body: ["name": "{newslug}", "municipality": "Haarlem"]),
            RouteCase(method: .get, path: "/api/v1/settings", permission: .settingsManage, body: nil),
            RouteCase(method: .patch, path: "/api/v1/settings", permission: .settingsManage, body: ["complaint_due_days": 10]),
            RouteCase(method: .get, path: "/api/v1/customers", permission: .customersRead, body: nil),
            RouteCase(method: .post, path: "/api/v1/customers", permission: .customersWrite, body: customerBody),
            RouteCase(method: .get, path: "/api/v1/customers/{customer}", permission: .customersRead, body: nil),
            RouteCase(method: .put, path: "/api/v1/customers/{customer}", permission: .customersWrite, body: customerBody, ifMatch: true),
            RouteCase(method: .post, path: "/api/v1/customers/{customer}/merge", permission: .customersWrite, body: ["duplicate_id": "{other}"]),
            RouteCase(method: .get, path: "/api/v1/customers/{customer}/export", permission: .customersExport, body: nil),
            RouteCase(method: .post, path: "/api/v1/customers/{customer}/erasure", permission: .customersErase, body: nil),
            RouteCase(method: .get, path: "/api/v1/customers/{customer}/timeline", permission: .customersRead, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/customers/{customer}/timeline", permission: .customersWrite,
                body: ["channel": "desk", "direction": "inbound", "subject": "Vraag over reserveringen"]),
            RouteCase(method: .get, path: "/api/v1/customers/{customer}/consents", permission: .customersRead, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/customers/{customer}/consents", permission: .consentsWrite,
                body: ["topic": "newsletter:weekly", "status": "opted_in"]),
            RouteCase(method: .post, path: "/api/v1/customers/{customer}/parents", permission: .customersWrite, body: ["parent_id": "{other}"]),
            RouteCase(method: .get, path: "/api/v1/activities", permission: .activitiesRead, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/activities", permission: .activitiesManage,
                body: [
                    "title": "Kinderboekenweek voorlezen", "category": "youth", "starts_at": "2027-10-01T10:00:00Z",
                    "ends_at": "2027-10-01T11:00:00Z",
                ]),
            RouteCase(method: .get, path: "/api/v1/activities/{activity}", permission: .activitiesRead, body: nil),
            RouteCase(method: .get, path: "/api/v1/activities/{activity}/registrations", permission: .activitiesRead, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/activities/{activity}/registrations", permission: .registrationsWrite,
                body: ["customer_id": "{customer}"]),
            RouteCase(method: .patch, path: "/api/v1/registrations/{registration}", permission: .registrationsWrite, body: ["status": "attended"]),
            RouteCase(method: .post, path: "/api/v1/registrations/{attended}/evaluation", permission: .registrationsWrite, body: ["score": 8]),
            RouteCase(method: .get, path: "/api/v1/complaints", permission: .complaintsRead, body: nil),
            RouteCase(
                method: .post, path: "/api/v1/complaints", permission: .complaintsManage,
                body: ["customer_id": "{customer}", "channel": "desk", "category": "service", "description": "Lange wachttijd"]),
            RouteCase(method: .patch, path: "/api/v1/complaints/{complaint}", permission: .complaintsManage, body: ["status": "in_progress"]),
            RouteCase(method: .post, path: "/api/v1/imports?dry_run=true", permission: .importsWrite, body: ["not": "a csv"]),
            RouteCase(method: .get, path: "/api/v1/imports/{import}", permission: .importsWrite, body: nil),
        ] + relations + segments + templates + lists + campaigns

    /// The segment routes; `{segment}` is a saved segment of the caller's library (version 1).
    static let segments: [RouteCase] = [
        RouteCase(method: .post, path: "/api/v1/segments/preview", permission: .segmentsRead, body: ["rule": segmentRule]),
        RouteCase(method: .get, path: "/api/v1/segments", permission: .segmentsRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/segments", permission: .segmentsWrite, body: ["name": "Volwassenen", "rule": segmentRule]),
        RouteCase(method: .get, path: "/api/v1/segments/{segment}", permission: .segmentsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/segments/{segment}", permission: .segmentsWrite, body: ["name": "Actieve volwassenen", "rule": segmentRule],
            ifMatch: true),
        RouteCase(method: .get, path: "/api/v1/segments/{segment}/count", permission: .segmentsRead, body: nil),
    ]

    static let segmentRule: [String: any Sendable] = [
        "all": [
            ["field": "age", "op": ">=", "value": 18] as [String: any Sendable],
            ["field": "membership_status", "op": "=", "value": "active"] as [String: any Sendable],
        ]
    ]

    /// The business relations routes (B2B).
    static let relations: [RouteCase] = [
        RouteCase(method: .get, path: "/api/v1/organisations?q=school", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/organisations", permission: .relationsWrite,
            body: ["name": "{newslug}", "type": "primary_school", "postcode": "2011 AB", "account_owner_user_id": "{user}"]),
        RouteCase(
            method: .post, path: "/api/v1/organisations/import?dry_run=true", permission: .relationsWrite, body: nil,
            rawBody: "Naam;Soort;Postcode\nOBS Proef;basisschool;2011 AB\n"),
        RouteCase(method: .get, path: "/api/v1/organisations/{organisation}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/organisations/{organisation}", permission: .relationsWrite, body: ["name": "{newslug}", "type": "partner"],
            ifMatch: true),
        RouteCase(method: .delete, path: "/api/v1/organisations/{bareorganisation}", permission: .relationsWrite, body: nil),
        RouteCase(method: .get, path: "/api/v1/organisation-types", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/organisation-types", permission: .relationsWrite, body: ["code": "{newcode}", "name": "Schoolbestuur"]),
        RouteCase(method: .get, path: "/api/v1/contacts?organisation={organisation}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/contacts", permission: .relationsWrite,
            body: ["last_name": "Visser", "email": "{newemail}", "roles": [["organisation_id": "{organisation}", "dmu_role": "advisor"]]]),
        RouteCase(
            method: .post, path: "/api/v1/contacts/import?dry_run=true", permission: .relationsWrite, body: nil,
            rawBody: "Organisatie;Achternaam;Rol\nOBS Proef;Visser;adviseur\n"),
        RouteCase(method: .get, path: "/api/v1/contacts/{contact}", permission: .relationsRead, body: nil),
        RouteCase(method: .put, path: "/api/v1/contacts/{contact}", permission: .relationsWrite, body: ["first_name": "Els", "last_name": "Visser"]),
        RouteCase(method: .delete, path: "/api/v1/contacts/{contact}", permission: .relationsWrite, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/contacts/{contact}/roles", permission: .relationsWrite,
            body: ["organisation_id": "{organisation}", "dmu_role": "influencer"]),
        RouteCase(method: .patch, path: "/api/v1/contacts/{contact}/roles/{role}", permission: .relationsWrite, body: ["active_to": "2099-12-31"]),
        RouteCase(method: .get, path: "/api/v1/contacts/{contact}/consents", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/contacts/{contact}/consents", permission: .relationsWrite,
            body: ["topic": "relations:mailing", "status": "opted_in"]),
        RouteCase(method: .get, path: "/api/v1/interactions?organisation={organisation}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/interactions", permission: .relationsWrite,
            body: [
                "organisation_id": "{organisation}", "kind": "visit_report", "subject": "Schoolbezoek", "contact_ids": ["{contact}"],
                "follow_up_task": ["title": "Offerte sturen", "due_on": "2030-01-15"],
            ]),
        RouteCase(method: .get, path: "/api/v1/interactions/{interaction}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/interactions/{interaction}", permission: .relationsWrite,
            body: ["organisation_id": "{organisation}", "kind": "meeting", "subject": "Overleg", "contact_ids": ["{contact}"]]),
        RouteCase(method: .delete, path: "/api/v1/interactions/{interaction}", permission: .relationsWrite, body: nil),
        RouteCase(method: .get, path: "/api/v1/tasks?assignee=me&due=week", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/tasks", permission: .relationsWrite,
            body: ["title": "Bellen", "due_on": "2030-01-15", "organisation_id": "{organisation}", "assignee_user_id": "{user}"]),
        RouteCase(method: .get, path: "/api/v1/tasks/{task}", permission: .relationsRead, body: nil),
        RouteCase(method: .patch, path: "/api/v1/tasks/{task}", permission: .relationsWrite, body: ["status": "done"]),
        RouteCase(method: .delete, path: "/api/v1/tasks/{task}", permission: .relationsWrite, body: nil),
        RouteCase(method: .get, path: "/api/v1/orders?organisation={organisation}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/orders", permission: .relationsWrite,
            body: ["organisation_id": "{organisation}", "product": "Boekstart", "period_start": "2026-09-01", "amount_cents": 12_500]),
        RouteCase(method: .get, path: "/api/v1/orders/{order}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/orders/{order}", permission: .relationsWrite,
            body: [
                "organisation_id": "{organisation}", "product": "Boekstart", "period_start": "2026-09-01", "amount_cents": 15_000,
                "status": "invoiced",
            ]),
        RouteCase(method: .delete, path: "/api/v1/orders/{order}", permission: .relationsWrite, body: nil),
        RouteCase(method: .get, path: "/api/v1/agreements?organisation={organisation}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/agreements", permission: .relationsWrite,
            body: [
                "organisation_id": "{organisation}", "kind": "subsidy", "title": "Subsidie 2027", "period_start": "2027-01-01",
                "renewal_date": "2027-10-01",
            ]),
        RouteCase(method: .get, path: "/api/v1/agreements/{agreement}", permission: .relationsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/agreements/{agreement}", permission: .relationsWrite,
            body: ["organisation_id": "{organisation}", "kind": "performance", "title": "Prestatieafspraak", "period_start": "2027-01-01"]),
        RouteCase(method: .delete, path: "/api/v1/agreements/{agreement}", permission: .relationsWrite, body: nil),
    ]

    /// Placeholders of the relations fixtures.
    static let relationPlaceholders = [
        "{organisation}", "{bareorganisation}", "{contact}", "{role}", "{interaction}", "{task}", "{order}", "{agreement}",
    ]

    static let customerBody: [String: any Sendable] = ["roles": ["guest"], "first_name": "Sanne", "last_name": "Dekker", "email": "{newemail}"]

    /// Routes whose path names one customer of the caller's library.
    static var customerRoutes: [RouteCase] { all.filter { $0.path.contains("{customer}") } }
}

/// One of each business relations record in a library, for routes that name them.
struct RelationFixtures: Sendable {
    let organisation: UUID
    let bareOrganisation: UUID
    let contact: UUID
    let role: UUID
    let interaction: UUID
    let task: UUID
    let order: UUID
    let agreement: UUID

    /// Fills the placeholders of `RouteCase.relationPlaceholders`.
    func fill(_ text: String) -> String {
        let ids: [(String, UUID)] = [
            ("{organisation}", organisation), ("{bareorganisation}", bareOrganisation), ("{contact}", contact), ("{role}", role),
            ("{interaction}", interaction), ("{task}", task), ("{order}", order), ("{agreement}", agreement),
        ]
        return ids.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1.uuidString.lowercased()) }
            .replacingOccurrences(of: "{newcode}", with: "t_\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// A JSON body with every string (also in nested arrays and objects) filled.
    func fill(_ value: any Sendable, with other: (String) -> String = { $0 }) -> Any {
        switch value {
        case let text as String: return other(fill(text))
        case let list as [any Sendable]: return list.map { fill($0, with: other) }
        case let object as [String: any Sendable]: return object.mapValues { fill($0, with: other) }
        default: return value
        }
    }
}

extension TestEnvironment {
    /// A school with a contact (and role), a visit report, a task, an order and an agreement, and an organisation without any.
    func createRelationFixtures(in tenant: Tenant, name: String = "Fixtureschool") async throws -> RelationFixtures {
        try await db.withTenant(tenant) { tx in
            let now = Date()
            let today = CalendarDate(now)
            let suffix = UUID().uuidString.prefix(6).lowercased()
            let school = try await Organisations.create(
                try OrganisationDraft(name: "\(name) \(suffix)", type: "primary_school").validate(),
                by: .system, now: now, in: tx)
            let bare = try await Organisations.create(
                try OrganisationDraft(name: "Leeg \(suffix)", type: "partner").validate(), by: .system, now: now, in: tx)
            let contact = try await Contacts.create(
                try ContactDraft(
                    lastName: "Contact \(name)", email: "c-\(suffix)@school.example",
                    roles: [ContactRoleDraft(organisationID: school.id, dmuRole: "decision_maker")]
                ).validate(today: today),
                by: .system, now: now, in: tx)
            let interaction = try await Interactions.create(
                try InteractionDraft(
                    organisationID: school.id, kind: "visit_report", subject: "Bezoek",
                    contactIDs: [contact.contact.id]
                ).validate(now: now),
                by: .system, now: now, in: tx)
            let task = try await RelationTasks.create(
                try TaskDraft(title: "Terugbellen", dueOn: "2030-01-01", organisationID: school.id).validate(),
                by: .system, now: now, in: tx)
            let order = try await Orders.create(
                try OrderDraft(
                    organisationID: school.id, product: "Leskist", periodStart: today.description,
                    amountCents: 5_000
                ).validate(), by: .system, now: now, in: tx)
            let agreement = try await Agreements.create(
                try AgreementDraft(
                    organisationID: school.id, kind: "performance", title: "Afspraak",
                    periodStart: today.description
                ).validate(), by: .system, now: now, in: tx)
            guard let role = contact.roles.first?.id else { throw NoRowReturned() }
            return RelationFixtures(
                organisation: school.id, bareOrganisation: bare.id, contact: contact.contact.id, role: role,
                interaction: interaction.id, task: task.id, order: order.id, agreement: agreement.id)
        }
    }

    /// An activity with a booked registration, an attended one and a complaint, for routes that name them.
    func createActivityFixtures(
        in tenant: Tenant, customers: (UUID, UUID)
    ) async throws -> (activity: UUID, registration: UUID, attended: UUID, complaint: UUID, upload: UUID) {
        try await db.withTenant(tenant) { tx in
            let now = Date()
            let activity = try await Activities.create(
                ActivityDraft(title: "Taalcafé", category: "nt2", startsAt: now - 7200, endsAt: now - 3600),
                by: .system, now: now, in: tx)
            let booked = try await Activities.register(
                customerID: customers.0, activityID: activity.id, source: .staff, pricePaidCents: 0, by: .system, now: now, in: tx)
            let attended = try await Activities.register(
                customerID: customers.1, activityID: activity.id, source: .staff, pricePaidCents: 0, by: .system, now: now, in: tx)
            _ = try await Activities.setStatus(registrationID: attended.id, to: .attended, by: .system, now: now, in: tx)
            let complaint = try await Complaints.create(
                ComplaintDraft(customerID: customers.0, channel: "phone", category: "service", description: "Klacht"),
                by: .system, now: now, in: tx)
            let upload = try await Imports.create(
                file: Array("Lenernummer\n1\n".utf8), mappingJSON: nil, dryRun: true, markMissingEnded: false,
                by: .system, now: now, in: tx)
            return (activity.id, booked.id, attended.id, complaint.id, upload.id)
        }
    }

    /// A saved segment (version 1) in `tenant`.
    func createSegment(in tenant: Tenant, name: String = "Jeugd") async throws -> Segment {
        let rule = SegmentRule.condition(SegmentCondition(field: "member_type", op: "=", value: "youth"))
        return try await db.withTenant(tenant) { tx in
            try await Segments.create(SegmentDraft(name: name, rule: rule), by: .system, now: Date(), in: tx)
        }
    }

    /// A guest customer in `tenant`, created through the service as staff would.
    func createCustomer(in tenant: Tenant, lastName: String = "Dekker") async throws -> Customer {
        var draft = CustomerDraft(roles: ["guest"])
        draft.lastName = lastName
        draft.email = "klant-\(UUID().uuidString.prefix(8).lowercased())@example.nl"
        let valid = try draft.validate(today: CalendarDate(Date()))
        return try await db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: Date(), in: tx) }
    }
}
