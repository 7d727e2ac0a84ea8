import Foundation
import KringDatabase
import KringTestSupport

extension RouteCase {
    /// The subscription list, public page and e-mail event routes.
    static let lists: [RouteCase] = []
}

extension CampaignFixtures {
    static let listPlaceholders: [String] = []
}

extension TestEnvironment {
    /// List records of `tenant` by placeholder.
    func createListFixtures(in tenant: Tenant) async throws -> [String: String] { [:] }
}
