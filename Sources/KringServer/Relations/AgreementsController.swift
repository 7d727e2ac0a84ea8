import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// Performance and subsidy agreements; each renewal date keeps a reminder task for the account owner.
struct AgreementsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in
            _ = try context.requireTenant(.relationsRead)
            let page = try Page(request)
            let query = RelationsQuery(request: request, context: context)
            var filter = Agreements.Filter(limit: page.limit)
            filter.organisationID = try query.uuid("organisation")
            filter.kind = try query.choice("kind", Agreement.Kind.self)
            filter.status = try query.choice("status", Agreement.Status.self)
            filter.renewalBefore = try query.date("renewal_before")
            filter.query = query.text("q")
            filter.before = try DayCursor.decode(page.after)
            let items = try await services.inRelations(.relationsRead, context) { tx, _, _ in try await Agreements.list(filter, in: tx) }
            return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { DayCursor.encode($0.periodStart, $0.id) } : nil)
        }
        group.post { request, context in
            _ = try context.requireTenant(.relationsWrite)
            let valid = try await request.decodeJSON(AgreementDraft.self, limit: services.settings.maxBodyBytes).validate()
            let agreement = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
                try await Agreements.create(valid, by: actor, now: now, in: tx)
            }
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/agreements/\(agreement.id.uuidString.lowercased())"], response: agreement)
        }
        group.get(":id") { _, context in
            let id = try agreementID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, _, _ in try await Agreements.find(id: id, in: tx) }
        }
        group.put(":id") { request, context in
            let id = try agreementID(context)
            _ = try context.requireTenant(.relationsWrite)
            let valid = try await request.decodeJSON(AgreementDraft.self, limit: services.settings.maxBodyBytes).validate()
            return try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Agreements.replace(id: id, with: valid, by: actor, now: now, in: tx)
            }
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            let id = try agreementID(context)
            try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Agreements.delete(id: id, by: actor, now: now, in: tx)
            }
            return .noContent
        }
    }

    private func agreementID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.agreement))
    }
}
