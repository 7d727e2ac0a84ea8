import Foundation
import KringDatabase
import KringTestSupport

/// Ids of the campaign module's records in one library, by placeholder (`{template}`, `{list}`, `{campaign}`, ...),
/// for the route tables of the role matrix and the cross-tenant tests.
struct CampaignFixtures: Sendable {
    var ids: [String: String]

    /// Random ids for every placeholder: for requests that are refused before any lookup.
    static var anyIDs: CampaignFixtures {
        CampaignFixtures(ids: Dictionary(uniqueKeysWithValues: placeholders.map { ($0, UUID().uuidString.lowercased()) }))
    }

    /// Every placeholder the campaign route tables use.
    static let placeholders = templatePlaceholders + listPlaceholders + campaignPlaceholders

    func fill(_ text: String) -> String {
        ids.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
    }

    /// A JSON body with every string (also nested) filled.
    func fill(_ body: [String: Any]) -> [String: Any] {
        body.mapValues(fillValue)
    }

    private func fillValue(_ value: Any) -> Any {
        switch value {
        case let text as String: fill(text)
        case let list as [Any]: list.map(fillValue)
        case let object as [String: Any]: object.mapValues(fillValue)
        default: value
        }
    }
}

extension TestEnvironment {
    /// One of each campaign record in `tenant` (see the three `create...Fixtures`).
    func createCampaignFixtures(in tenant: Tenant) async throws -> CampaignFixtures {
        var ids: [String: String] = [:]
        ids.merge(try await createTemplateFixtures(in: tenant)) { $1 }
        ids.merge(try await createListFixtures(in: tenant)) { $1 }
        ids.merge(try await createSendFixtures(in: tenant)) { $1 }
        return CampaignFixtures(ids: ids)
    }
}
