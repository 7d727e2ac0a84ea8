import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// The serious customer tasks, each on a page of its own: a new customer, merging two duplicates side by side, the
/// GDPR export as a download, and erasure behind a typed confirmation.
struct CustomerPrivacyPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("klanten/nieuw") { _, context in try await newForm(context, typed: nil, errors: FormErrors()) }
        router.post("klanten/nieuw") { request, context in try await create(request, context) }
        router.get("klanten/:id/samenvoegen") { request, context in try await mergeForm(request, context, error: nil) }
        router.post("klanten/:id/samenvoegen") { request, context in try await merge(request, context) }
        router.get("klanten/:id/export") { _, context in try await export(context) }
        router.get("klanten/:id/wissen") { _, context in try await eraseForm(context, error: false) }
        router.post("klanten/:id/wissen") { request, context in try await erase(request, context) }
    }

    private func customerID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw CustomerError.notFound }
        return id
    }

    // MARK: New customer

    struct NewModel {
        let chrome: Chrome
        let kinds: [Choice]
        let types: [Choice]
        let fields: [CustomerPages.Field]
        let memberNumber: String
        let errors: [FormErrors.Item]
        let hasErrors: Bool
    }

    func newForm(_ context: KringRequestContext, typed: FormBody?, errors: FormErrors) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(.customersWrite)
        let kind = typed?.value("kind") ?? "guest"
        let type = typed?.value("member_type") ?? "adult"
        let fields = CustomerPages.editable.map { field -> CustomerPages.Field in
            let error = errors.message(field.name)
            let described = [field.hint.map { _ in "h-" + field.name }, error.map { _ in "e-" + field.name }].compactMap { $0 }.joined(separator: " ")
            return CustomerPages.Field(
                name: field.name, label: field.label, value: typed?.value(field.name) ?? "", original: "", error: error,
                hint: field.hint, type: field.type, autocomplete: field.autocomplete, multiline: field.type == "textarea",
                describedBy: described.isEmpty ? nil : described)
        }
        let model = NewModel(
            chrome: staff.chrome("Nieuwe klant", area: "/klanten"),
            kinds: [
                Choice(value: "guest", label: "gast (bijvoorbeeld bij een activiteit)", selected: kind == "guest"),
                Choice(value: "visitor", label: "bezoeker", selected: kind == "visitor"),
                Choice(value: "member", label: "lid (met lidnummer uit het bibliotheeksysteem)", selected: kind == "member"),
            ],
            types: Customer.MemberType.allCases.map {
                Choice(value: $0.rawValue, label: CustomerPages.memberTypeNames[$0] ?? $0.rawValue, selected: $0.rawValue == type)
            },
            fields: fields, memberNumber: typed?.value("member_number") ?? "", errors: errors.items, hasErrors: errors.any)
        return WebResponse.html(try templates.render("customers/new", model), status: errors.any ? .unprocessableContent : .ok)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let kind = form.value("kind") ?? "guest"
        var draft = CustomerDraft(roles: [kind])
        if kind == "member" {
            draft.memberNumber = form.value("member_number")
            draft.memberType = form.value("member_type")
            draft.membershipStatus = "active"
        }
        for field in CustomerPages.editable {
            let value = (form.value(field.name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            field.set(&draft, value.isEmpty ? nil : value)
        }
        var errors = FormErrors()
        let created: Customer? = try await services.inTenant(.customersWrite, context) { tx, actor, now in
            do {
                return try await Customers.create(try draft.validate(today: CalendarDate(now)), by: actor, now: now, in: tx)
            } catch CustomerError.invalid(let problems) {
                for problem in problems {
                    errors.add(
                        problem.field,
                        CustomerPages.dutchErrors[problem.field]
                            ?? [
                                "member_number": "Vul het lidnummer uit het bibliotheeksysteem in.", "member_type": "Kies een abonnement.",
                                "roles": "Kies wat voor klant dit is.",
                            ][problem.field] ?? "Controleer dit veld.")
                }
                return nil
            } catch CustomerError.duplicateMemberNumber {
                errors.add("member_number", "Een andere klant heeft dit lidnummer al.")
                return nil
            }
        }
        guard let created else { return try await newForm(context, typed: form, errors: errors) }
        return WebResponse.redirect("/klanten/\(created.id.lower)?gedaan=opgeslagen")
    }

    // MARK: Merging duplicates

    struct Side: Sendable {
        let id: String
        let name: String
        let facts: [Fact]
    }

    struct MergeModel {
        let chrome: Chrome
        let survivor: Side
        let duplicate: Side?
        let query: String
        let candidates: [CustomerPages.Row]
        let error: String?
    }

    private func side(_ customer: Customer) -> Side {
        var facts: [Fact] = []
        func add(_ label: String, _ value: String?) { facts.append(Fact(label: label, value: value ?? "–")) }
        add("Lidnummer", customer.memberNumber)
        add("Soort", CustomerPages.kind(customer))
        add("Geboortedatum", customer.birthDate.map(Dutch.date))
        add("E-mail", customer.email)
        add("Telefoon", customer.phone)
        add("Postcode", Dutch.postcode(customer.postcode))
        add("Plaats", customer.city)
        add("Ingeschreven", Dutch.date(customer.createdAt))
        return Side(id: customer.id.lower, name: customer.displayName.isEmpty ? "(naam onbekend)" : customer.displayName, facts: facts)
    }

    func mergeForm(_ request: Request, _ context: KringRequestContext, error: String?, duplicate: UUID? = nil) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let query = request.uri.queryParameters
        let otherID = duplicate ?? query["met"].flatMap { UUID(uuidString: String($0)) }
        let search = String(query["q"] ?? "").trimmingCharacters(in: .whitespaces)
        let (survivor, duplicate, candidates) = try await services.inTenant(.customersWrite, context, probing: [id] + (otherID.map { [$0] } ?? [])) {
            tx, actor, now in
            let survivor = try await Customers.read(id: id, by: actor, now: now, in: tx)
            let duplicate = try await otherID.asyncMap { try await Customers.read(id: $0, by: actor, now: now, in: tx) }
            let candidates =
                search.isEmpty
                ? []
                : try await Customers.search(Customers.Search(query: search, limit: 20), by: actor, now: now, in: tx)
                    .filter { $0.id != id }
            return (survivor, duplicate, candidates)
        }
        let model = MergeModel(
            chrome: staff.chrome("Dubbele inschrijving samenvoegen", area: "/klanten"), survivor: side(survivor), duplicate: duplicate.map(side),
            query: search,
            candidates: candidates.map { customer in
                CustomerPages.Row(
                    href: "/klanten/\(id.lower)/samenvoegen?met=\(customer.id.lower)", name: customer.displayName,
                    memberNumber: customer.memberNumber, postcode: Dutch.postcode(customer.postcode), city: customer.city,
                    kind: CustomerPages.kind(customer))
            }, error: error)
        return WebResponse.html(try templates.render("customers/merge", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func merge(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try customerID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        guard let duplicateID = form.value("duplicate").flatMap({ UUID(uuidString: $0) }) else { throw CustomerError.notFound }
        guard form.value("confirm") == "on" else {
            return try await mergeForm(request, context, error: "Vink aan dat dit dezelfde persoon is.", duplicate: duplicateID)
        }
        _ = try await services.inTenant(.customersWrite, context, probing: [id, duplicateID]) { tx, actor, now in
            try await CustomerPrivacy.merge(survivorID: id, duplicateID: duplicateID, by: actor, now: now, in: tx)
        }
        return WebResponse.redirect("/klanten/\(id.lower)?gedaan=samengevoegd")
    }

    // MARK: Export and erasure

    func export(_ context: KringRequestContext) async throws -> Response {
        let id = try customerID(context)
        let export = try await services.inTenant(.customersExport, context, probing: [id]) { tx, actor, now in
            try await CustomerPrivacy.export(id: id, by: actor, now: now, in: tx)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json; charset=utf-8", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"gegevens-klant-\(id.lower.prefix(8)).json\"",
            ], body: .init(byteBuffer: ByteBuffer(bytes: try KringJSON.encode(export))))
    }

    struct EraseModel {
        let chrome: Chrome
        let id: String
        let name: String
        let word: String
        let error: Bool
    }

    static let eraseWord = "WISSEN"

    func eraseForm(_ context: KringRequestContext, error: Bool) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let customer = try await services.inTenant(.customersErase, context, probing: [id]) { tx, actor, now in
            try await Customers.read(id: id, by: actor, now: now, in: tx)
        }
        guard customer.erasedAt == nil else { return WebResponse.redirect("/klanten/\(id.lower)") }
        let model = EraseModel(
            chrome: staff.chrome("Persoonsgegevens wissen", area: "/klanten"), id: id.lower,
            name: customer.displayName.isEmpty ? "deze klant" : customer.displayName, word: Self.eraseWord, error: error)
        return WebResponse.html(try templates.render("customers/erase", model), status: error ? .unprocessableContent : .ok)
    }

    func erase(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try customerID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        guard (form.value("confirmation") ?? "").trimmingCharacters(in: .whitespaces).uppercased() == Self.eraseWord else {
            return try await eraseForm(context, error: true)
        }
        try await services.inTenant(.customersErase, context, probing: [id]) { tx, actor, now in
            try await CustomerPrivacy.erase(id: id, by: actor, now: now, in: tx)
        }
        return WebResponse.redirect("/klanten/\(id.lower)?gedaan=gewist")
    }
}
