import Foundation
import KringCampaigns
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

/// Rows fail closed: a campaign row the code cannot read is an error, never a draft or a campaign without its journey.
@Suite struct UnreadableCampaignTests {
    static let now = Date(timeIntervalSince1970: 1_796_900_400)

    /// A draft campaign in a new library, then `statements` run on it as the schema owner, who can write what the
    /// application cannot (`{campaigns}` is the library's table, `{id}` the campaign's id).
    static func corrupted(_ statements: [String]) async throws -> (env: TestEnvironment, tenant: Tenant, id: UUID) {
        let env = try await TestEnvironment.forSuite("UnreadableCampaign")
        let tenant = try await env.createTenant("uc")
        let campaign = try await env.db.withTenant(tenant) { tx in
            try await Campaigns.create(CampaignDraft(name: "Nieuwsbrief"), by: .system, now: now, in: tx)
        }
        #expect(campaign.state == .draft)
        try await env.owner.withConnection { connection in
            for statement in statements {
                let sql = statement.replacingOccurrences(of: "{campaigns}", with: "\(tenant.slug.schema.quoted).campaigns")
                    .replacingOccurrences(of: "{id}", with: campaign.id.uuidString.lowercased())
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: env.owner.logger)
            }
        }
        return (env, tenant, campaign.id)
    }

    @Test func aStateTheCodeDoesNotKnowIsAnErrorNotADraft() async throws {
        // The CHECK constraint keeps the application from writing it; the owner drops it to stand for a bad migration or hand edit.
        let (env, tenant, id) = try await Self.corrupted([
            "ALTER TABLE {campaigns} DROP CONSTRAINT campaigns_state_check",
            "ALTER TABLE {campaigns} DROP CONSTRAINT campaigns_one_off_audience",
            "UPDATE {campaigns} SET state = 'archived' WHERE id = '{id}'",
        ])
        let error = await #expect(throws: UnreadableColumn.self) {
            try await env.db.withTenant(tenant) { tx in try await Campaigns.find(id: id, in: tx) }
        }
        #expect(error?.column == "state")
        #expect(error?.type == "KringCampaigns.Campaign.State")
        #expect(error?.reason == "unknown value 'archived'")
        // The list fails too: the row is not skipped.
        await #expect(throws: UnreadableColumn.self) {
            try await env.db.withTenant(tenant) { tx in try await Campaigns.list(after: nil, limit: 50, in: tx) }
        }
    }

    @Test func aJourneyThatDoesNotDecodeIsAnErrorNotACampaignWithoutJourney() async throws {
        // No constraint guards the shape of the jsonb column: this is a plain update.
        let (env, tenant, id) = try await Self.corrupted([
            #"UPDATE {campaigns} SET journey = '{"trigger": "full_moon", "steps": []}' WHERE id = '{id}'"#
        ])
        let error = await #expect(throws: UnreadableColumn.self) {
            try await env.db.withTenant(tenant) { tx in try await Campaigns.find(id: id, in: tx) }
        }
        #expect(error?.column == "journey")
        #expect(error?.type == "KringCampaigns.Journey")
        #expect(error?.reason == "invalid JSON or value at trigger")
        #expect(error?.description.contains("full_moon") == false)
    }
}
