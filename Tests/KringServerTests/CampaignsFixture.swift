import Foundation
import KringDatabase
import KringTestSupport

extension RouteCase {
    /// The campaign and journey routes.
    static let campaigns: [RouteCase] = []
}

extension CampaignFixtures {
    static let campaignPlaceholders: [String] = []
}

extension TestEnvironment {
    /// Campaign records of `tenant` by placeholder.
    func createSendFixtures(in tenant: Tenant) async throws -> [String: String] { [:] }
}
