import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer

/// Relaties: the library's organisations (a school board with its schools as a tree, or a filtered table) and the
/// account view of one: who decides, open tasks, the last contacts, this year's orders with their total, agreements
/// with their renewal dates, and the organisations above and below it.
struct OrganisationPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("relaties") { request, context in try await list(request, context) }
        router.get("relaties/:id") { request, context in try await show(request, context) }
    }

    static let statusNames: [Organisation.Status: String] = [.prospect: "prospect", .active: "actief", .former: "voormalig"]
    static let roleNames: [DMURole: String] = [
        .decisionMaker: "Beslissers", .advisor: "Adviseurs", .gatekeeper: "Poortwachters", .user: "Gebruikers", .influencer: "Beïnvloeders",
    ]
    static let interactionNames: [Interaction.Kind: String] = [
        .meeting: "overleg", .visitReport: "bezoekverslag", .phoneCall: "telefoongesprek", .email: "e-mail", .proposal: "voorstel",
        .agreement: "overeenkomst",
    ]
    static let orderStatusNames: [Order.Status: String] = [
        .quoted: "offerte", .ordered: "besteld", .delivered: "geleverd", .invoiced: "gefactureerd", .cancelled: "geannuleerd",
    ]
    static let agreementKindNames: [Agreement.Kind: String] = [.performance: "prestatieafspraak", .subsidy: "subsidie"]
    static let agreementStatusNames: [Agreement.Status: String] = [.draft: "concept", .active: "lopend", .ended: "beëindigd"]

    /// Organisaties, Contactpersonen and, for who may change relations, Importeren.
    static func tabs(_ current: String, _ staff: Staff) -> [AdminPages.Tab] {
        [("Organisaties", "/relaties"), ("Contactpersonen", "/relaties/personen")]
            .map { AdminPages.Tab(label: $0.0, href: $0.1, current: $0.1 == current) }
            + (staff.may(.relationsWrite)
                ? [AdminPages.Tab(label: "Importeren", href: "/relaties/import", current: current == "/relaties/import")] : [])
    }

    /// What the account view says after a form sent the user back to it (`?gedaan=`).
    static let notices = [
        "contact": "Het contact is vastgelegd.", "contact-taak": "Het contact is vastgelegd, met een vervolgtaak voor u.",
        "bestelling": "De bestelling is opgeslagen.", "overeenkomst": "De overeenkomst is opgeslagen.",
        "overeenkomst-taak": "De overeenkomst is opgeslagen. De taak om de verlenging voor te bereiden staat bij de open taken.",
    ]

    /// At most this many organisations on the list page; more asks for a search.
    static let listLimit = 500

    struct Row: Sendable {
        let href: String
        let name: String
        let type: String
        let status: String
        let city: String
        let owner: String
        let parent: String
    }

    /// A tree node, three levels deep (deeper organisations are listed at the third level).
    struct Node: Sendable {
        let href: String
        let name: String
        let meta: String
        let children: [Node]
        /// Stored, not computed: the templates see stored properties only.
        let hasChildren: Bool

        init(href: String, name: String, meta: String, children: [Node]) {
            self.href = href
            self.name = name
            self.meta = meta
            self.children = children
            self.hasChildren = !children.isEmpty
        }
    }

    struct ListModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let query: String
        let types: [Choice]
        let statuses: [Choice]
        let owners: [Choice]
        let none: Bool
        let noneText: String
        let count: String
        let tree: Bool
        let nodes: [Node]
        let rows: [Row]
        let more: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let parameters = request.uri.queryParameters
        let query = (parameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        let type = parameters["soort"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let status = parameters["status"].map(String.init).flatMap(Organisation.Status.init(rawValue:))
        let ownerChoice = parameters["beheerder"].map(String.init) ?? ""
        let owner: UUID? = ownerChoice == "ik" ? staff.principal.userID : nil
        let (organisations, types, parentNames) = try await services.inTenant(.relationsRead, context) { tx, _, _ in
            let found = try await Organisations.search(
                .init(query: query.isEmpty ? nil : query, type: type, status: status, accountOwnerUserID: owner, limit: Self.listLimit + 1), in: tx)
            // The names of what they lie under, also when the filter leaves those out.
            var parents: [UUID: String] = [:]
            let parentIDs = Array(Set(found.compactMap(\.parentID)))
            if !parentIDs.isEmpty {
                for try await (id, name) in try await tx.query("SELECT id, name FROM organisations WHERE id = ANY(\(parentIDs))").decode(
                    (UUID, String).self)
                {
                    parents[id] = name
                }
            }
            return (found, try await OrganisationTypes.list(in: tx), parents)
        }
        let more = organisations.count > Self.listLimit
        let shown = Array(organisations.prefix(Self.listLimit)).sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
        let typeNames = Dictionary(types.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })
        let owners = try await StaffNames.names(shown.compactMap(\.accountOwnerUserID), tenant: staff.tenant?.id, services: services)
        let byID = Dictionary(shown.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func typeName(_ code: String) -> String { typeNames[code] ?? code }
        func meta(_ organisation: Organisation) -> String {
            var parts = [typeName(organisation.type).lowercased(), Self.statusNames[organisation.status] ?? organisation.status.rawValue]
            if let owner = organisation.accountOwnerUserID.flatMap({ owners[$0] }) { parts.append(owner) }
            return parts.joined(separator: " · ")
        }
        // Without a search or filter the whole list is a tree: what lies below another organisation under it.
        let filtered = !query.isEmpty || type != nil || status != nil || owner != nil
        var nodes: [Node] = []
        if !filtered {
            let children = Dictionary(grouping: shown.filter { $0.parentID.map { byID[$0] != nil } ?? false }, by: { $0.parentID! })
            func leaf(_ organisation: Organisation) -> Node {
                Node(href: "/relaties/\(organisation.id.lower)", name: organisation.name, meta: meta(organisation), children: [])
            }
            // Everything below, depth first; `seen` guards against a loop of parents in the data.
            func descendants(_ id: UUID, _ seen: inout Set<UUID>) -> [Organisation] {
                var found: [Organisation] = []
                for child in children[id] ?? [] where seen.insert(child.id).inserted {
                    found.append(child)
                    found += descendants(child.id, &seen)
                }
                return found
            }
            func node(_ organisation: Organisation) -> Node {
                // The second level shows everything deeper as one list below it.
                let second = (children[organisation.id] ?? []).map { child in
                    var seen: Set<UUID> = [organisation.id, child.id]
                    return Node(
                        href: "/relaties/\(child.id.lower)", name: child.name, meta: meta(child), children: descendants(child.id, &seen).map(leaf))
                }
                return Node(href: "/relaties/\(organisation.id.lower)", name: organisation.name, meta: meta(organisation), children: second)
            }
            nodes = shown.filter { $0.parentID.map { byID[$0] == nil } ?? true }.map(node)
        }
        let rows = shown.map { organisation in
            Row(
                href: "/relaties/\(organisation.id.lower)", name: organisation.name, type: typeName(organisation.type),
                status: Self.statusNames[organisation.status] ?? organisation.status.rawValue, city: organisation.city ?? "",
                owner: organisation.accountOwnerUserID.flatMap { owners[$0] } ?? "",
                parent: organisation.parentID.flatMap { parentNames[$0] } ?? "")
        }
        let model = ListModel(
            chrome: staff.chrome("Relaties", area: "/relaties"), tabs: Self.tabs("/relaties", staff), query: query,
            types: [Choice(value: "", label: "Alle soorten", selected: type == nil)]
                + types.map { Choice(value: $0.code, label: $0.name, selected: $0.code == type) },
            statuses: [Choice(value: "", label: "Alle", selected: status == nil)]
                + Organisation.Status.allCases.map { Choice(value: $0.rawValue, label: Self.statusNames[$0] ?? $0.rawValue, selected: $0 == status) },
            owners: [
                Choice(value: "", label: "Iedereen", selected: owner == nil),
                Choice(value: "ik", label: "Alleen mijn relaties", selected: owner != nil),
            ],
            none: shown.isEmpty,
            noneText: filtered ? "Geen organisaties gevonden. Controleer de spelling of kies een andere soort." : "Er zijn nog geen organisaties.",
            count: shown.count == 1 ? "1 organisatie" : "\(Dutch.number(shown.count)) organisaties", tree: !filtered, nodes: nodes, rows: rows,
            more: more)
        return WebResponse.html(try templates.render("relations/list", model))
    }

    struct Link: Sendable {
        let href: String
        let name: String
        let type: String
        let status: String
    }

    struct Person: Sendable {
        let href: String
        let person: String
        let jobTitle: String
        let reach: String
    }

    struct RoleGroup: Sendable {
        let role: String
        let people: [Person]
    }

    struct TaskLine: Sendable {
        let title: String
        let due: String
        let late: Bool
        let assignee: String
    }

    struct InteractionLine: Sendable {
        let subject: String
        let kind: String
        let when: String
    }

    struct OrderLine: Sendable {
        let href: String
        let product: String
        let period: String
        let quantity: String
        let status: String
        let amount: String
    }

    struct AgreementLine: Sendable {
        let href: String
        let title: String
        let kind: String
        let period: String
        let status: String
        let renewal: String
    }

    struct ShowModel {
        let chrome: Chrome
        let id: String
        let canRecord: Bool
        let name: String
        let type: String
        let status: String
        let owner: String
        let facts: [Fact]
        let parent: Link?
        let members: [Link]
        let hasMembers: Bool
        let dmu: [RoleGroup]
        let noDMU: Bool
        let tasks: [TaskLine]
        let noTasks: Bool
        let interactions: [InteractionLine]
        let noInteractions: Bool
        let orders: [OrderLine]
        let noOrders: Bool
        let total: String
        let agreements: [AgreementLine]
        let noAgreements: Bool
    }

    func show(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.organisation) }
        let (view, types) = try await services.inTenant(
            .relationsRead, context, record: id, "organisation", notFound: RelationsError.notFound(.organisation)
        ) { tx, actor, now in
            (try await Organisations.accountView(id: id, by: actor, now: now, in: tx), try await OrganisationTypes.list(in: tx))
        }
        let organisation = view.organisation
        let typeNames = Dictionary(types.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })
        let people = try await StaffNames.names(
            [organisation.accountOwnerUserID].compactMap { $0 } + view.openTasks.compactMap(\.assigneeUserID), tenant: staff.tenant?.id,
            services: services)
        let today = CalendarDate(services.now())
        func link(_ ref: OrganisationRef) -> Link {
            Link(
                href: "/relaties/\(ref.id.lower)", name: ref.name, type: (typeNames[ref.type] ?? ref.type).lowercased(),
                status: Self.statusNames[ref.status] ?? ref.status.rawValue)
        }
        func period(_ start: CalendarDate, _ end: CalendarDate?) -> String {
            end.map { "\(Dutch.date(start)) tot en met \(Dutch.date($0))" } ?? "vanaf \(Dutch.date(start))"
        }
        var facts: [Fact] = []
        let address = [
            [organisation.street, organisation.houseNumber].compactMap { $0 }.joined(separator: " "),
            [Dutch.postcode(organisation.postcode), organisation.city].compactMap { $0 }.joined(separator: "  "),
        ].filter { !$0.isEmpty }.joined(separator: ", ")
        if !address.isEmpty { facts.append(Fact(label: "Adres", value: address)) }
        if let municipality = organisation.municipality { facts.append(Fact(label: "Gemeente", value: municipality)) }
        if let website = organisation.website { facts.append(Fact(label: "Website", value: website)) }
        if !organisation.tags.isEmpty { facts.append(Fact(label: "Labels", value: organisation.tags.joined(separator: ", "))) }
        if let notes = organisation.notes { facts.append(Fact(label: "Notities", value: notes)) }
        let dmu = DMURole.allCases.compactMap { role -> RoleGroup? in
            let members = view.dmu[role]
            guard !members.isEmpty else { return nil }
            return RoleGroup(
                role: Self.roleNames[role] ?? role.rawValue,
                people: members.map { member in
                    Person(
                        href: ContactPages.path(member.contactID), person: member.name, jobTitle: member.jobTitle.map { ", \($0)" } ?? "",
                        reach: ([member.email, member.phone].compactMap { $0 } + ["sinds \(Dutch.date(member.activeFrom))"]).joined(separator: " · "))
                })
        }
        let tasks = view.openTasks.map { task in
            TaskLine(
                title: task.title, due: TaskPages.due(task.dueOn, today: today), late: task.overdue,
                assignee: task.assigneeUserID.flatMap { people[$0] }.map { "(\($0))" } ?? "")
        }
        let interactions = view.lastInteractions.map { interaction in
            InteractionLine(
                subject: interaction.subject, kind: Self.interactionNames[interaction.kind] ?? interaction.kind.rawValue,
                when: Dutch.date(interaction.occurredAt))
        }
        let orders = view.ordersThisYear.map { order in
            OrderLine(
                href: "/relaties/\(organisation.id.lower)/bestellingen/\(order.id.lower)", product: order.product,
                period: period(order.periodStart, order.periodEnd), quantity: Dutch.number(order.quantity),
                status: Self.orderStatusNames[order.status] ?? order.status.rawValue, amount: Dutch.amount(cents: order.amountCents))
        }
        let agreements = view.agreements.map { agreement in
            AgreementLine(
                href: "/relaties/\(organisation.id.lower)/overeenkomsten/\(agreement.id.lower)", title: agreement.title,
                kind: Self.agreementKindNames[agreement.kind] ?? agreement.kind.rawValue,
                period: period(agreement.periodStart, agreement.periodEnd),
                status: Self.agreementStatusNames[agreement.status] ?? agreement.status.rawValue,
                renewal: agreement.renewalDate.map { "vóór \(Dutch.date($0))" } ?? "geen")
        }
        let model = ShowModel(
            chrome: staff.chrome(
                organisation.name, area: "/relaties",
                notice: request.uri.queryParameters["gedaan"].flatMap {
                    Self.notices[String($0)]
                }),
            id: organisation.id.lower, canRecord: staff.may(.relationsWrite), name: organisation.name,
            type: typeNames[organisation.type] ?? organisation.type, status: Self.statusNames[organisation.status] ?? organisation.status.rawValue,
            owner: organisation.accountOwnerUserID.flatMap { people[$0] } ?? "niemand", facts: facts, parent: view.parent.map(link),
            members: view.members.map(link), hasMembers: !view.members.isEmpty, dmu: dmu, noDMU: dmu.isEmpty, tasks: tasks, noTasks: tasks.isEmpty,
            interactions: interactions, noInteractions: interactions.isEmpty, orders: orders, noOrders: orders.isEmpty,
            total: Dutch.amount(cents: view.ordersThisYearAmountCents), agreements: agreements, noAgreements: agreements.isEmpty)
        return WebResponse.html(try templates.render("relations/show", model))
    }
}
