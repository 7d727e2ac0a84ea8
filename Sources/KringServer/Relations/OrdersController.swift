import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// Orders of educational programmes and subscriptions, per organisation.
struct OrdersController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in
            _ = try context.requireTenant(.relationsRead)
            let page = try Page(request)
            let query = RelationsQuery(request: request, context: context)
            var filter = Orders.Filter(limit: page.limit)
            filter.organisationID = try query.uuid("organisation")
            filter.kind = try query.choice("kind", Order.Kind.self)
            filter.status = try query.choice("status", Order.Status.self)
            filter.year = try query.int("year", in: 1900...2200)
            filter.query = query.text("q")
            filter.before = try DayCursor.decode(page.after)
            let items = try await services.inRelations(.relationsRead, context) { tx, _, _ in try await Orders.list(filter, in: tx) }
            return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { DayCursor.encode($0.periodStart, $0.id) } : nil)
        }
        group.post { request, context in
            _ = try context.requireTenant(.relationsWrite)
            let valid = try await request.decodeJSON(OrderDraft.self, limit: services.settings.maxBodyBytes).validate()
            let order = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
                try await Orders.create(valid, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, headers: [.location: "/api/v1/orders/\(order.id.uuidString.lowercased())"], response: order)
        }
        group.get(":id") { _, context in
            let id = try orderID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, _, _ in try await Orders.find(id: id, in: tx) }
        }
        group.put(":id") { request, context in
            let id = try orderID(context)
            _ = try context.requireTenant(.relationsWrite)
            let valid = try await request.decodeJSON(OrderDraft.self, limit: services.settings.maxBodyBytes).validate()
            return try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Orders.replace(id: id, with: valid, by: actor, now: now, in: tx)
            }
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            let id = try orderID(context)
            try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Orders.delete(id: id, by: actor, now: now, in: tx)
            }
            return .noContent
        }
    }

    private func orderID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.order))
    }
}
