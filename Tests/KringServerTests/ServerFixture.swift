import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
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
            try await APIKeys.create(tenantID: b.id, name: "ils export", scopes: ["imports:write"], expiresAt: nil,
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

    var testDescription: String { "\(method) \(path)" }

    static let all: [RouteCase] = [
        RouteCase(method: .get, path: "/api/v1/me", permission: .profileRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/auth/logout", permission: .profileRead, body: nil),
        RouteCase(method: .get, path: "/api/v1/admin/tenants", permission: .tenantsManage, body: nil),
        RouteCase(method: .post, path: "/api/v1/admin/tenants", permission: .tenantsManage, body: ["slug": "{newslug}", "name": "Nieuwe bibliotheek"]),
        RouteCase(method: .patch, path: "/api/v1/admin/tenants/{slug}", permission: .tenantsManage, body: ["name": "Bibliotheek a"]),
        RouteCase(method: .post, path: "/api/v1/admin/tenants/{slug}/users", permission: .tenantsManage, body: ["email": "{newemail}"]),
        RouteCase(method: .get, path: "/api/v1/users", permission: .usersRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/users", permission: .usersManage, body: ["email": "{newemail}", "role": "analyst"]),
        RouteCase(method: .patch, path: "/api/v1/users/{user}", permission: .usersManage, body: ["role": "frontdesk"]),
        RouteCase(method: .get, path: "/api/v1/api-keys", permission: .apiKeysManage, body: nil),
        RouteCase(method: .post, path: "/api/v1/api-keys", permission: .apiKeysManage, body: ["name": "ticketing", "scopes": ["customers:read"]]),
        RouteCase(method: .delete, path: "/api/v1/api-keys/{key}", permission: .apiKeysManage, body: nil),
        RouteCase(method: .get, path: "/api/v1/branches", permission: .branchesRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/branches", permission: .branchesManage, body: ["name": "{newslug}", "municipality": "Haarlem"]),
        RouteCase(method: .get, path: "/api/v1/customers", permission: .customersRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/customers", permission: .customersWrite, body: customerBody),
        RouteCase(method: .get, path: "/api/v1/customers/{customer}", permission: .customersRead, body: nil),
        RouteCase(method: .put, path: "/api/v1/customers/{customer}", permission: .customersWrite, body: customerBody, ifMatch: true),
        RouteCase(method: .post, path: "/api/v1/customers/{customer}/merge", permission: .customersWrite, body: ["duplicate_id": "{other}"]),
        RouteCase(method: .get, path: "/api/v1/customers/{customer}/export", permission: .customersExport, body: nil),
        RouteCase(method: .post, path: "/api/v1/customers/{customer}/erasure", permission: .customersErase, body: nil),
        RouteCase(method: .get, path: "/api/v1/customers/{customer}/timeline", permission: .customersRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/customers/{customer}/timeline", permission: .customersWrite,
                  body: ["channel": "desk", "direction": "inbound", "subject": "Vraag over reserveringen"]),
        RouteCase(method: .get, path: "/api/v1/customers/{customer}/consents", permission: .customersRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/customers/{customer}/consents", permission: .consentsWrite,
                  body: ["topic": "newsletter:weekly", "status": "opted_in"]),
        RouteCase(method: .post, path: "/api/v1/customers/{customer}/parents", permission: .customersWrite, body: ["parent_id": "{other}"]),
        RouteCase(method: .get, path: "/api/v1/activities", permission: .activitiesRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/activities", permission: .activitiesManage,
                  body: ["title": "Kinderboekenweek voorlezen", "category": "youth", "starts_at": "2027-10-01T10:00:00Z", "ends_at": "2027-10-01T11:00:00Z"]),
        RouteCase(method: .get, path: "/api/v1/activities/{activity}", permission: .activitiesRead, body: nil),
        RouteCase(method: .get, path: "/api/v1/activities/{activity}/registrations", permission: .activitiesRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/activities/{activity}/registrations", permission: .registrationsWrite, body: ["customer_id": "{customer}"]),
        RouteCase(method: .patch, path: "/api/v1/registrations/{registration}", permission: .registrationsWrite, body: ["status": "attended"]),
        RouteCase(method: .post, path: "/api/v1/registrations/{attended}/evaluation", permission: .registrationsWrite, body: ["score": 8]),
        RouteCase(method: .get, path: "/api/v1/complaints", permission: .complaintsRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/complaints", permission: .complaintsManage,
                  body: ["customer_id": "{customer}", "channel": "desk", "category": "service", "description": "Lange wachttijd"]),
        RouteCase(method: .patch, path: "/api/v1/complaints/{complaint}", permission: .complaintsManage, body: ["status": "in_progress"]),
        RouteCase(method: .post, path: "/api/v1/imports?dry_run=true", permission: .importsWrite, body: ["not": "a csv"]),
        RouteCase(method: .get, path: "/api/v1/imports/{import}", permission: .importsWrite, body: nil),
    ]

    static let customerBody: [String: any Sendable] = ["roles": ["guest"], "first_name": "Sanne", "last_name": "Dekker", "email": "{newemail}"]

    /// Routes whose path names one customer of the caller's library.
    static var customerRoutes: [RouteCase] { all.filter { $0.path.contains("{customer}") } }
}

extension TestEnvironment {
    /// An activity with a booked registration, an attended one and a complaint, for routes that name them.
    func createActivityFixtures(in tenant: Tenant, customers: (UUID, UUID)) async throws -> (activity: UUID, registration: UUID, attended: UUID, complaint: UUID, upload: UUID) {
        try await db.withTenant(tenant) { tx in
            let now = Date()
            let activity = try await Activities.create(ActivityDraft(title: "Taalcafé", category: "nt2", startsAt: now - 7200, endsAt: now - 3600),
                                                       by: .system, now: now, in: tx)
            let booked = try await Activities.register(customerID: customers.0, activityID: activity.id, source: .staff, pricePaidCents: 0, by: .system, now: now, in: tx)
            let attended = try await Activities.register(customerID: customers.1, activityID: activity.id, source: .staff, pricePaidCents: 0, by: .system, now: now, in: tx)
            _ = try await Activities.setStatus(registrationID: attended.id, to: .attended, by: .system, now: now, in: tx)
            let complaint = try await Complaints.create(ComplaintDraft(customerID: customers.0, channel: "phone", category: "service", description: "Klacht"),
                                                        by: .system, now: now, in: tx)
            let upload = try await Imports.create(file: Array("Lenernummer\n1\n".utf8), mappingJSON: nil, dryRun: true, markMissingEnded: false,
                                                  by: .system, now: now, in: tx)
            return (activity.id, booked.id, attended.id, complaint.id, upload.id)
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
