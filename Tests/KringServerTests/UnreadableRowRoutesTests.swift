import Foundation
import HTTPTypes
import HummingbirdTesting
import KringCampaigns
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

/// A row the code cannot read answers 500 (an internal error), not a default, and the answer does not repeat the value.
@Suite struct UnreadableRowRoutesTests {
    @Test func aCampaignInAStateTheCodeDoesNotKnowAnswers500() async throws {
        let env = try await TestEnvironment.forSuite("UnreadableRowRoutes")
        let clock = TestClock(Date())
        let services = try await env.services(clock: clock)
        let tenant = try await env.createTenant("ur")
        let marketing = try await env.createUser(in: tenant, role: .marketing)
        let campaign = try await env.db.withTenant(tenant) { tx in
            try await Campaigns.create(CampaignDraft(name: "Nieuwsbrief"), by: .system, now: clock.now, in: tx)
        }
        // The CHECK constraint keeps the application from writing it; the schema owner drops it to stand for a bad hand edit.
        try await env.owner.withConnection { connection in
            let table = "\(tenant.slug.schema.quoted).campaigns"
            for constraint in ["campaigns_state_check", "campaigns_one_off_audience"] {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(table) DROP CONSTRAINT \(constraint)"), logger: env.owner.logger)
            }
            try await connection.query(
                PostgresQuery(unsafeSQL: "UPDATE \(table) SET state = 'archived' WHERE id = '\(campaign.id.uuidString.lowercased())'"),
                logger: env.owner.logger)
        }
        let app = env.application(services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: tenant.slug.value).access
            let response = try await client.send(.get, "/api/v1/campaigns/\(campaign.id.uuidString.lowercased())", token: token)
            #expect(response.status == .internalServerError)
            #expect(response["type"] as? String == "https://kring.nl/problems/internal")
            #expect(!response.text.contains("archived"))
            #expect(!response.text.contains("draft"))
        }
    }
}
