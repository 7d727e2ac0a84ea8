import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Tenant A's credential with tenant B's ids answers 404, never 403 and never B's data; the probe is audited.
@Suite struct CrossTenantTests {
    enum ForeignID: String, CaseIterable, Sendable { case user, apiKey }

    struct Probe: Sendable, CustomTestStringConvertible {
        let method: HTTPRequest.Method
        let template: String
        let id: ForeignID
        let body: [String: any Sendable]?
        let audit: Bool
        var testDescription: String { "\(method) \(template)" }
    }

    static let probes: [Probe] = [
        Probe(method: .patch, template: "/api/v1/users/%@", id: .user, body: ["role": "analyst"], audit: true),
        Probe(method: .patch, template: "/api/v1/users/%@", id: .user, body: ["disabled": true], audit: true),
        Probe(method: .delete, template: "/api/v1/api-keys/%@", id: .apiKey, body: nil, audit: true),
    ]

    @Test(arguments: probes)
    func foreignIDsAnswer404AndChangeNothing(probe: Probe) async throws {
        let cast = try await TwoTenants.make(suite: "CrossTenant")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.adminA.email, tenant: cast.a.slug.value).access
            let foreignID = probe.id == .user ? cast.userB.id.uuidString.lowercased() : cast.keyB.key.id
            let response = try await client.send(probe.method, String(format: probe.template, foreignID), token: token, json: probe.body)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(!response.text.contains(cast.userB.email))
        }
        // B's user and key are untouched.
        let member = try await cast.env.db.withPlatform { tx in try await StaffAccounts.member(userID: cast.userB.id, tenantID: cast.b.id, in: tx) }
        #expect(member?.role == .marketing)
        #expect(member?.disabled == false)
        let keys = try await cast.env.db.withPlatform { tx in try await APIKeys.list(tenantID: cast.b.id, after: nil, limit: 10, in: tx) }
        #expect(keys.first?.revokedAt == nil)
        #expect(try await cast.auditCount("access.foreign_resource", tenant: cast.a) == (probe.audit ? 1 : 0))
    }

    @Test func listsShowOnlyTheCredentialsTenant() async throws {
        let cast = try await TwoTenants.make(suite: "CrossTenant")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.adminA.email, tenant: cast.a.slug.value).access
            let users = try await client.send(.get, "/api/v1/users", token: token)
            let ids = (users["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [cast.adminA.id.uuidString.lowercased()])
            let keys = try await client.send(.get, "/api/v1/api-keys", token: token)
            #expect((keys["items"] as? [Any])?.isEmpty == true)
            // A tenant header or query parameter changes nothing: the tenant comes from the token only.
            var headers = HTTPFields()
            headers[.init("X-Tenant")!] = cast.b.slug.value
            let sneaky = try await client.send(.get, "/api/v1/users?tenant=\(cast.b.slug.value)", token: token, headers: headers)
            #expect((sneaky["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } == [cast.adminA.id.uuidString.lowercased()])
        }
    }

    @Test func settingsChangeOnlyTheCredentialsTenant() async throws {
        let cast = try await TwoTenants.make(suite: "CrossTenant")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.adminA.email, tenant: cast.a.slug.value).access
            let changed = try await client.send(.patch, "/api/v1/settings?tenant=\(cast.b.slug.value)", token: token, json: ["complaint_due_days": 3])
            #expect(changed.status == .ok)
            #expect(changed["complaint_due_days"] as? Int == 3)
            let invalid = try await client.send(.patch, "/api/v1/settings", token: token, json: ["complaint_due_days": 0])
            #expect(invalid.status == .unprocessableContent)
            let mail = try await client.send(
                .patch, "/api/v1/settings", token: token,
                json: [
                    "mail_from_name": "Bibliotheek A", "mail_from_address": "Nieuws@A.example", "mail_tracking": true,
                    "mail_rate_per_minute": 600,
                ])
            #expect(mail.status == .ok)
            #expect(mail["mail_from_address"] as? String == "nieuws@a.example")
            #expect(mail["mail_tracking"] as? Bool == true)
            let badMail = try await client.send(
                .patch, "/api/v1/settings", token: token,
                json: ["mail_from_address": "geen adres", "mail_rate_per_minute": -1, "mail_from_name": "a\nb"])
            #expect(badMail.status == .unprocessableContent)
            for field in ["mail_from_address", "mail_rate_per_minute", "mail_from_name"] { #expect(badMail.text.contains(field)) }
        }
        let (a, b) = try await (
            cast.env.db.withTenant(cast.a) { tx in try await TenantSettings.load(in: tx) },
            cast.env.db.withTenant(cast.b) { tx in try await TenantSettings.load(in: tx) }
        )
        #expect(a.complaintDueDays == 3)
        #expect(a.mailFromName == "Bibliotheek A" && a.mailTracking && a.mailRatePerMinute == 600)
        #expect(b == TenantSettings.defaults)
        // The service level decides each library's due dates.
        let now = Date()
        let dueA = try await cast.env.db.withTenant(cast.a) { tx in
            try await Complaints.create(
                ComplaintDraft(customerID: nil, channel: "desk", category: "service", description: "Lang gewacht"), by: .system, now: now, in: tx
            ).dueAt
        }
        let dueB = try await cast.env.db.withTenant(cast.b) { tx in
            try await Complaints.create(
                ComplaintDraft(customerID: nil, channel: "desk", category: "service", description: "Lang gewacht"), by: .system, now: now, in: tx
            ).dueAt
        }
        #expect(abs(dueA.timeIntervalSince(now) - 3 * 86400) < 1)
        #expect(abs(dueB.timeIntervalSince(now) - 14 * 86400) < 1)
    }

    @Test func anAPIKeyOfTenantBActsOnlyInB() async throws {
        let cast = try await TwoTenants.make(suite: "CrossTenant")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let me = try await client.send(.get, "/api/v1/me", token: cast.keyB.secret)
            #expect(me.status == .ok)
            #expect((me["tenant"] as? [String: Any])?["slug"] as? String == cast.b.slug.value)
            #expect((me["api_key"] as? [String: Any])?["scopes"] as? [String] == ["imports:write"])
            // Scopes grant no staff administration.
            #expect(try await client.send(.get, "/api/v1/users", token: cast.keyB.secret).status == .forbidden)
            #expect(try await client.send(.get, "/api/v1/api-keys", token: cast.keyB.secret).status == .forbidden)
        }
    }
}

/// The customer routes: tenant A's staff with tenant B's customer ids.
@Suite struct CustomerCrossTenantTests {
    @Test(arguments: RouteCase.customerRoutes)
    func anotherLibrarysCustomerAnswers404AndIsAudited(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "CustomerCrossTenant")
        let frontdeskA = try await cast.env.createUser(in: cast.a, role: .frontdesk)
        let customerB = try await cast.env.createCustomer(in: cast.b, lastName: "Verborgen")
        let otherA = try await cast.env.createCustomer(in: cast.a)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: frontdeskA.email, tenant: cast.a.slug.value).access
            let path = route.path.replacingOccurrences(of: "{customer}", with: customerB.id.uuidString.lowercased())
            let body = route.body.map {
                $0.mapValues { value -> Any in
                    guard let text = value as? String else { return value }
                    return text.replacingOccurrences(of: "{other}", with: otherA.id.uuidString.lowercased())
                        .replacingOccurrences(of: "{newemail}", with: "x-\(UUID().uuidString.prefix(6))@example.nl")
                }
            }
            var headers = HTTPFields()
            if route.ifMatch { headers[.ifMatch] = "\"1\"" }
            let response = try await client.send(route.method, path, token: token, json: body, headers: headers)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status)")
            #expect(!response.text.contains("Verborgen"))
        }
        // B's customer is untouched, and A's audit log has the probe.
        let after = try await cast.env.db.withTenant(cast.b) { tx in try await Customers.read(id: customerB.id, by: .system, now: Date(), in: tx) }
        #expect(after.version == 1)
        #expect(after.lastName == "Verborgen")
        #expect(try await cast.tenantAuditCount("access.unknown_customer", tenant: cast.a) >= 1)
        #expect(try await cast.tenantAuditCount("access.unknown_customer", tenant: cast.b) == 0)
    }

    @Test func searchNeverReturnsAnotherLibrarysCustomers() async throws {
        let cast = try await TwoTenants.make(suite: "CustomerCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        _ = try await cast.env.createCustomer(in: cast.b, lastName: "Alleeninbee")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let found = try await client.send(.get, "/api/v1/customers?q=alleeninbee", token: token)
            #expect(found.status == .ok)
            #expect((found["items"] as? [Any])?.isEmpty == true)
        }
    }
}

/// Activities, registrations and complaints: tenant A's staff with tenant B's ids.
@Suite struct ActivityCrossTenantTests {
    static let routes = RouteCase.all.filter {
        ["{activity}", "{registration}", "{attended}", "{complaint}", "{import}"].contains(where: $0.path.contains)
    }

    @Test(arguments: routes)
    func anotherLibrarysActivityRegistrationOrComplaintAnswers404(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "ActivityCrossTenant")
        let frontdeskA = try await cast.env.createUser(in: cast.a, role: .frontdesk)
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let fixturesB = try await cast.env.createActivityFixtures(
            in: cast.b,
            customers: (
                try await cast.env.createCustomer(in: cast.b).id,
                try await cast.env.createCustomer(in: cast.b).id
            ))
        let customerA = try await cast.env.createCustomer(in: cast.a)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let caller =
                route.permission == .activitiesManage
                ? marketingA : route.permission == .importsWrite ? (id: cast.adminA.id, email: cast.adminA.email) : frontdeskA
            let token = try await client.login(email: caller.email, tenant: cast.a.slug.value).access
            let path = route.path.replacingOccurrences(of: "{activity}", with: fixturesB.activity.uuidString.lowercased())
                .replacingOccurrences(of: "{registration}", with: fixturesB.registration.uuidString.lowercased())
                .replacingOccurrences(of: "{attended}", with: fixturesB.attended.uuidString.lowercased())
                .replacingOccurrences(of: "{complaint}", with: fixturesB.complaint.uuidString.lowercased())
                .replacingOccurrences(of: "{import}", with: fixturesB.upload.uuidString.lowercased())
            let body = route.body.map {
                $0.mapValues { value -> Any in
                    (value as? String)?.replacingOccurrences(of: "{customer}", with: customerA.id.uuidString.lowercased()) ?? value
                }
            }
            let response = try await client.send(route.method, path, token: token, json: body)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status) \(response.text)")
        }
        let registrations = try await cast.env.db.withTenant(cast.b) { tx in
            try await Activities.registrations(activityID: fixturesB.activity, in: tx)
        }
        #expect(Set(registrations.map(\.status)) == [.booked, .attended])
        #expect(registrations.count == 2)
    }
}
