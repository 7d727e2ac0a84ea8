import Foundation
import KringDatabase
import KringTestSupport

extension RouteCase {
    /// The template routes.
    static let templates: [RouteCase] = []
}

extension CampaignFixtures {
    static let templatePlaceholders: [String] = []
}

extension TestEnvironment {
    /// Template records of `tenant` by placeholder.
    func createTemplateFixtures(in tenant: Tenant) async throws -> [String: String] { [:] }
}
