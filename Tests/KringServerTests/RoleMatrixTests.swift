import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Walks the permission matrix whole: every role against every route.
@Suite struct RoleMatrixTests {
    func fill(
        _ text: String, tenant: Tenant, userID: UUID, keyID: String, customers: (UUID, UUID) = (UUID(), UUID()),
        fixtures: (activity: UUID, registration: UUID, attended: UUID, complaint: UUID, upload: UUID)? = nil
    ) -> String {
        var text = text
        if let fixtures {
            text = text.replacingOccurrences(of: "{activity}", with: fixtures.activity.uuidString.lowercased())
                .replacingOccurrences(of: "{registration}", with: fixtures.registration.uuidString.lowercased())
                .replacingOccurrences(of: "{attended}", with: fixtures.attended.uuidString.lowercased())
                .replacingOccurrences(of: "{complaint}", with: fixtures.complaint.uuidString.lowercased())
                .replacingOccurrences(of: "{import}", with: fixtures.upload.uuidString.lowercased())
        }
        return text.replacingOccurrences(of: "{slug}", with: tenant.slug.value)
            .replacingOccurrences(of: "{customer}", with: customers.0.uuidString.lowercased())
            .replacingOccurrences(of: "{other}", with: customers.1.uuidString.lowercased())
            .replacingOccurrences(of: "{user}", with: userID.uuidString.lowercased())
            .replacingOccurrences(of: "{key}", with: keyID)
            .replacingOccurrences(of: "{newslug}", with: "n-\(UUID().uuidString.prefix(8).lowercased())")
            .replacingOccurrences(of: "{newemail}", with: "new-\(UUID().uuidString.prefix(8))@example.org")
    }

    func fill(
        _ body: [String: any Sendable]?, tenant: Tenant, userID: UUID, keyID: String, customers: (UUID, UUID),
        relations: RelationFixtures
    ) -> [String: Any]? {
        body.map { $0.mapValues { relations.fill($0) { fill($0, tenant: tenant, userID: userID, keyID: keyID, customers: customers) } } }
    }

    @Test(arguments: Role.allCases)
    func everyRouteAnswersByThePermissionMatrix(role: Role) async throws {
        let env = try await TestEnvironment.forSuite("RoleMatrix")
        let clock = TestClock(Date())
        let services = try await env.services(clock: clock)
        let tenant = try await env.createTenant("r")
        let caller = try await env.createUser(in: role == .platformAdmin ? nil : tenant, role: role)
        // A second admin, so that a tenant_admin changing a colleague never trips the last-admin guard.
        _ = try await env.createUser(in: tenant, role: .tenantAdmin)
        let app = env.application(services)

        try await app.test(.router) { client in
            for route in RouteCase.all {
                let colleague = try await env.createUser(in: tenant, role: .analyst)
                let key = try await env.db.withPlatform { tx in
                    try await APIKeys.create(
                        tenantID: tenant.id, name: "k", scopes: ["customers:read"], expiresAt: nil,
                        environment: "test", createdBy: nil, now: clock.now, in: tx)
                }
                let customers = (try await env.createCustomer(in: tenant).id, try await env.createCustomer(in: tenant).id)
                let fixtures = try await env.createActivityFixtures(
                    in: tenant,
                    customers: (
                        try await env.createCustomer(in: tenant).id,
                        try await env.createCustomer(in: tenant).id
                    ))
                let relations = try await env.createRelationFixtures(in: tenant)
                let segment = try await env.createSegment(in: tenant)
                let campaignIDs = try await env.createCampaignFixtures(in: tenant)
                // A two-factor code works once: a platform administrator's next login waits for the app's next code.
                if role == .platformAdmin { clock.advance(by: 30) }
                let token = try await client.login(
                    email: caller.email, tenant: role == .platformAdmin ? nil : tenant.slug.value,
                    code: role == .platformAdmin ? TestEnvironment.platformCode(at: clock.now) : nil
                ).access
                let path = relations.fill(
                    fill(route.path, tenant: tenant, userID: colleague.id, keyID: key.key.id, customers: customers, fixtures: fixtures)
                )
                .replacingOccurrences(of: "{segment}", with: segment.id.uuidString.lowercased())
                let filledPath = campaignIDs.fill(path)
                let body = fill(route.body, tenant: tenant, userID: colleague.id, keyID: key.key.id, customers: customers, relations: relations)
                    .map { campaignIDs.fill($0) }
                var headers = HTTPFields()
                if route.ifMatch { headers[.ifMatch] = "\"1\"" }
                let response = try await client.send(route.method, filledPath, token: token, json: body, rawBody: route.rawBody, headers: headers)
                if PermissionMatrix.allows(role, route.permission) {
                    #expect((200..<300).contains(Int(response.status.code)), "\(role) \(route.testDescription): \(response.status) \(response.text)")
                } else {
                    #expect(response.status == .forbidden, "\(role) \(route.testDescription): \(response.status)")
                }
            }
        }
    }

    @Test(arguments: RouteCase.all)
    func everyProtectedRouteNeedsACredential(route: RouteCase) async throws {
        let env = try await TestEnvironment.forSuite("RoleMatrix")
        let app = env.application(try await env.services(clock: TestClock()))
        try await app.test(.router) { client in
            let path = route.path.replacingOccurrences(of: "{slug}", with: "x1").replacingOccurrences(of: "{user}", with: UUID().uuidString)
                .replacingOccurrences(of: "{customer}", with: UUID().uuidString).replacingOccurrences(of: "{activity}", with: UUID().uuidString)
                .replacingOccurrences(of: "{registration}", with: UUID().uuidString).replacingOccurrences(of: "{attended}", with: UUID().uuidString)
                .replacingOccurrences(of: "{complaint}", with: UUID().uuidString).replacingOccurrences(of: "{import}", with: UUID().uuidString)
                .replacingOccurrences(of: "{key}", with: "0123456789abcdef").replacingOccurrences(of: "{segment}", with: UUID().uuidString)
            let anyIDs = RelationFixtures(
                organisation: UUID(), bareOrganisation: UUID(), contact: UUID(), role: UUID(), interaction: UUID(),
                task: UUID(), order: UUID(), agreement: UUID())
            let anonymous = try await client.send(route.method, anyIDs.fill(CampaignFixtures.anyIDs.fill(path)), json: route.body.map { _ in [:] })
            #expect(anonymous.status == .unauthorized)
            let garbage = try await client.send(
                route.method, anyIDs.fill(CampaignFixtures.anyIDs.fill(path)), token: "not.a.token", json: route.body.map { _ in [:] })
            #expect(garbage.status == .unauthorized)
            #expect(garbage.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func platformAdministratorsGetNoTenantRoutesAndStaffNoAdminRoutes() {
        #expect(PermissionMatrix.permissions(of: .platformAdmin) == [.profileRead, .tenantsManage])
        for role in Role.tenantRoles {
            #expect(!PermissionMatrix.allows(role, .tenantsManage))
        }
        #expect(
            PermissionMatrix.permissions(of: .analyst) == [
                .profileRead, .branchesRead, .customersRead, .activitiesRead, .complaintsRead, .relationsRead,
                .segmentsRead, .campaignsRead, .reportsRead,
            ])
        // Reports (counts, no personal data): those who plan and analyse.
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .reportsRead) } == [.marketing, .analyst])
        #expect(!PermissionMatrix.allows(.analyst, .customersExport))
        #expect(!PermissionMatrix.allows(.relations, .customersRead))
        // Business relations: relations edits, marketing and analysts read, the front desk and administrators stay out.
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .relationsWrite) } == [.relations])
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .relationsRead) } == [.marketing, .relations, .analyst])
        // Segments: marketing builds them (and sees whom they select), analysts read counts, nobody else.
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .segmentsWrite) } == [.marketing])
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .segmentsRead) } == [.marketing, .analyst])
        // Campaigns: marketing runs them, analysts read their statistics; integrations only report mail events.
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .campaignsWrite) } == [.marketing])
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .campaignsRead) } == [.marketing, .analyst])
        #expect(Role.tenantRoles.filter { PermissionMatrix.allows($0, .emailEventsWrite) }.isEmpty)
        #expect(PermissionMatrix.permissions(of: [.emailEventsWrite]) == [.profileRead, .emailEventsWrite])
    }
}
