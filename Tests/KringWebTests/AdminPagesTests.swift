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
import PostgresNIO
import Testing

/// Beheer in the browser: staff, API keys, branches and settings, against a real PostgreSQL.
@Suite("Admin pages") struct AdminPagesTests {
    @Test func anAdministratorInvitesChangesResetsAndCannotReachAnotherLibrarysStaff() async throws {
        let env = try await TestEnvironment.forSuite("WebAdmin")
        let tenant = try await env.createTenant("wa")
        let elsewhere = try await env.createTenant("wb")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let colleague = try await env.createUser(in: tenant, role: .frontdesk)
        let stranger = try await env.createUser(in: elsewhere, role: .frontdesk)
        let clock = TestClock(Date())
        _ = try await env.db.withPlatform { tx in
            try await TwoFactor.enable(userID: colleague.id, secret: TwoFactor.newSecret(), confirmedStep: 0, now: clock.now, in: tx)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let colleagueToken = try await client.send(
                .post, "/api/v1/auth/login", json: ["email": colleague.email, "password": TestEnvironment.password, "tenant": tenant.slug.value])
            #expect(colleagueToken.status == .unauthorized)  // two-factor on: a code is needed
            let browser = Browser(client)
            try await browser.signIn(admin.email, password: TestEnvironment.password, library: tenant.slug.value)
            let list = try await browser.get("/beheer/medewerkers")
            #expect(list.status == .ok)
            #expect(list.contains(colleague.email))
            #expect(!list.contains(stranger.email))

            let invited = try await browser.post(
                "/beheer/medewerkers", [("name", "Els Jansen"), ("email", "els.\(UUID().uuidString.prefix(6))@example.org"), ("role", "marketing")])
            #expect(invited.location == "/beheer/medewerkers?gedaan=uitgenodigd")
            try await browser.get("/beheer/medewerkers")
            let bad = try await browser.post("/beheer/medewerkers", [("email", "geen-adres"), ("role", "marketing")])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.field("email") == "geen-adres")

            let path = "/beheer/medewerkers/\(colleague.id.uuidString.lowercased())"
            #expect(try await browser.post(path, [("action", "role"), ("role", "analyst")]).status == .seeOther)
            try await browser.get("/beheer/medewerkers")
            #expect(try await browser.post(path, [("action", "reset-two-factor")]).location == "/beheer/medewerkers?gedaan=tweestaps")
            // Two-factor off: the password alone works again (the library does not require it).
            let after = try await client.send(
                .post, "/api/v1/auth/login", json: ["email": colleague.email, "password": TestEnvironment.password, "tenant": tenant.slug.value])
            #expect(after.status == .ok)

            try await browser.get("/beheer/medewerkers")
            let foreign = try await browser.post("/beheer/medewerkers/\(stranger.id.uuidString.lowercased())", [("action", "reset-two-factor")])
            #expect(foreign.status == .notFound)
            let foreignRole = try await browser.post(
                "/beheer/medewerkers/\(stranger.id.uuidString.lowercased())", [("action", "role"), ("role", "analyst")])
            #expect(foreignRole.status == .notFound)
        }
        let audit = try await env.db.withPlatform { tx in
            try await tx.query(
                """
                SELECT action FROM platform.audit_log WHERE tenant_id = \(tenant.id) AND action IN ('user.invited', 'membership.updated', 'two_factor.reset', 'access.foreign_resource')
                ORDER BY id
                """
            ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
        }
        #expect(audit == ["user.invited", "membership.updated", "two_factor.reset", "access.foreign_resource", "access.foreign_resource"])
        let role = try await env.db.withPlatform { tx in
            try await tx.query("SELECT role FROM platform.memberships WHERE user_id = \(colleague.id) AND tenant_id = \(tenant.id)").decode(
                String.self
            ).first { _ in true }
        }
        #expect(role == "analyst")
        let queued = try await env.db.withPlatform { tx in
            try await tx.query("SELECT count(*)::int FROM platform.jobs WHERE kind = 'staff.invitation' AND tenant_id = \(tenant.id)").decode(
                Int.self
            ).first { _ in true }
        }
        #expect(queued == 1)
    }

    @Test func anAPIKeyIsShownOnceWorksAndIsRevokedAndSettingsAndBranchesAreKept() async throws {
        let env = try await TestEnvironment.forSuite("WebAdmin")
        let tenant = try await env.createTenant("wa")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(admin.email, password: TestEnvironment.password, library: tenant.slug.value)
            try await browser.get("/beheer/api-sleutels")
            let created = try await browser.post(
                "/beheer/api-sleutels", [("name", "Ticketing"), ("scope", "registrations:write"), ("scope", "customers:read"), ("days", "90")])
            #expect(created.status == .ok)
            let start = try #require(created.html.range(of: "<code class=\"secret\" id=\"new-key\">"))
            let secret = String(created.html[start.upperBound...].prefix { $0 != "<" })
            #expect(secret.hasPrefix("kr_test_"))
            let listed = try await browser.get("/beheer/api-sleutels")
            #expect(listed.contains("Ticketing") && !listed.contains(secret))
            #expect(try await client.send(.get, "/api/v1/customers", token: secret).status == .ok)
            let keyID = try #require(listed.html.range(of: "/beheer/api-sleutels/").map { listed.html[$0.upperBound...].prefix { $0 != "/" } })
            #expect(try await browser.post("/beheer/api-sleutels/\(keyID)/intrekken", []).status == .seeOther)
            #expect(try await client.send(.get, "/api/v1/customers", token: secret).status == .unauthorized)

            try await browser.get("/beheer/vestigingen")
            #expect(try await browser.post("/beheer/vestigingen", [("name", "Heemstede"), ("municipality", "Heemstede")]).status == .seeOther)
            try await browser.get("/beheer/vestigingen")
            let twice = try await browser.post("/beheer/vestigingen", [("name", "Heemstede"), ("municipality", "Heemstede")])
            #expect(twice.status == .unprocessableContent)
            #expect(twice.contains("Er is al een vestiging met deze naam."))

            let form = try await browser.get("/beheer/instellingen")
            #expect(form.field("retention_ended_members_months") == "24" && form.field("retention_audit_months") == "24")
            #expect(form.contains("Met deze termijnen verdwijnt er vannacht niets."), "the dry run on a new library")
            let short = try await browser.post(
                "/beheer/instellingen", [("complaint_due_days", "10"), ("retention_audit_months", "6"), ("retention_guests_months", "een jaar")])
            #expect(short.status == .unprocessableContent)
            #expect(short.contains("Vul een aantal maanden in, van 12 tot 120.") && short.contains("Vul een aantal maanden in, van 1 tot 120."))
            #expect(short.field("retention_audit_months") == "6")
            let invalid = try await browser.post(
                "/beheer/instellingen", [("complaint_due_days", "900"), ("idle_timeout_minutes", "15"), ("two_factor_required", "on")])
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.contains("Vul een aantal dagen in, van 1 tot 365."))
            #expect(invalid.field("idle_timeout_minutes") == "15")
            let saved = try await browser.post(
                "/beheer/instellingen",
                [("complaint_due_days", "10"), ("idle_timeout_minutes", "15"), ("two_factor_required", "on"), ("retention_mail_events_months", "18")])
            #expect(saved.location == "/beheer/instellingen?gedaan=instellingen")
        }
        let settings = try await env.db.withTenant(tenant) { tx in try await TenantSettings.load(in: tx) }
        #expect(settings.complaintDueDays == 10 && settings.idleTimeoutMinutes == 15 && settings.twoFactorRequired)
        #expect(settings.retentionMailEventsMonths == 18 && settings.retentionAuditMonths == 24 && settings.retentionEndedMembersMonths == 24)
        let branches = try await env.db.withTenant(tenant) { tx in try await Branches.list(in: tx) }
        #expect(branches.contains { $0.name == "Heemstede" && $0.municipality == "Heemstede" })
    }
}
