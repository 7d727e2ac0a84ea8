import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer

/// Bestellingen and overeenkomsten of one organisation: a form to add one and the same form to change it (a status
/// from besteld to gefactureerd, a new renewal date). An agreement's renewal date gives the account owner a task,
/// `Agreements.renewalLeadDays` before it, which the account view and Mijn taken show.
struct OrderPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("relaties/:id/bestellingen/nieuw") { _, context in try await orderForm(context, orderID: nil) }
        router.post("relaties/:id/bestellingen/nieuw") { request, context in try await saveOrder(request, context, orderID: nil) }
        router.get("relaties/:id/bestellingen/:item") { _, context in try await orderForm(context, orderID: try itemID(context)) }
        router.post("relaties/:id/bestellingen/:item") { request, context in try await saveOrder(request, context, orderID: try itemID(context)) }
        router.get("relaties/:id/overeenkomsten/nieuw") { _, context in try await agreementForm(context, agreementID: nil) }
        router.post("relaties/:id/overeenkomsten/nieuw") { request, context in try await saveAgreement(request, context, agreementID: nil) }
        router.get("relaties/:id/overeenkomsten/:item") { _, context in try await agreementForm(context, agreementID: try itemID(context)) }
        router.post("relaties/:id/overeenkomsten/:item") { request, context in
            try await saveAgreement(request, context, agreementID: try itemID(context))
        }
    }

    static let orderKinds: [(Order.Kind, String)] = [(.order, "Bestelling"), (.subscription, "Abonnement")]
    static let orderStatuses: [(Order.Status, String)] = [
        (.quoted, "Offerte"), (.ordered, "Besteld"), (.delivered, "Geleverd"), (.invoiced, "Gefactureerd"), (.cancelled, "Geannuleerd"),
    ]
    static let agreementKinds: [(Agreement.Kind, String)] = [(.performance, "Prestatieafspraak"), (.subsidy, "Subsidie")]
    static let agreementStatuses: [(Agreement.Status, String)] = [(.draft, "Concept"), (.active, "Lopend"), (.ended, "Beëindigd")]

    private func organisationID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.organisation) }
        return id
    }

    /// The order's or agreement's id; a path that is not one answers 404 as an unknown record does.
    private func itemID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("item"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.organisation) }
        return id
    }

    /// The form's fields as typed (strings, so that a wrong amount comes back as it was typed).
    struct Typed: Sendable {
        var kind = ""
        var title = ""
        var start = ""
        var end = ""
        var quantity = "1"
        var amount = ""
        var status = ""
        var notes = ""
        var renewal = ""
        /// The record's `updated_at` when the form was opened, to refuse saving over someone else's change.
        var version = ""

        init() {}

        init(form: FormBody) {
            func text(_ name: String) -> String { (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
            kind = text("kind")
            title = text("title")
            start = text("start")
            end = text("end")
            quantity = text("quantity")
            amount = text("amount")
            status = text("status")
            notes = text("notes")
            renewal = text("renewal")
            version = text("version")
        }
    }

    struct FormModel {
        let chrome: Chrome
        let id: String
        let organisation: String
        let heading: String
        let action: String
        let isOrder: Bool
        let kinds: [Choice]
        let statuses: [Choice]
        let typed: Typed
        let renewalNote: String?
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let titleError: String?
        let startError: String?
        let endError: String?
        let quantityError: String?
        let amountError: String?
        let renewalError: String?
        let notesError: String?
    }

    private static func version(_ date: Date) -> String { String(Int64((date.timeIntervalSince1970 * 1_000_000).rounded())) }

    /// The form; the organisation's name is read unless the caller read it already (in its own transaction).
    private func render(
        _ staff: Staff, _ context: KringRequestContext, organisation id: UUID, name known: String? = nil, isOrder: Bool, itemID: UUID?,
        typed: Typed, renewalNote: String?, errors: FormErrors
    ) async throws -> Response {
        let name: String
        if let known { name = known } else { name = try await organisationName(id, context) }
        let noun = isOrder ? "bestelling" : "overeenkomst"
        let heading = itemID == nil ? "Nieuwe \(noun)" : "\(noun.prefix(1).uppercased())\(noun.dropFirst()) wijzigen"
        let kinds =
            isOrder
            ? Self.orderKinds.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0.rawValue == typed.kind) }
            : Self.agreementKinds.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0.rawValue == typed.kind) }
        let statuses =
            isOrder
            ? Self.orderStatuses.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0.rawValue == typed.status) }
            : Self.agreementStatuses.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0.rawValue == typed.status) }
        let model = FormModel(
            chrome: staff.chrome("\(heading): \(name)", area: "/relaties"), id: id.lower, organisation: name, heading: heading,
            action: "/relaties/\(id.lower)/\(isOrder ? "bestellingen" : "overeenkomsten")/\(itemID?.lower ?? "nieuw")", isOrder: isOrder,
            kinds: kinds, statuses: statuses, typed: typed, renewalNote: renewalNote, errors: errors.items, hasErrors: errors.any,
            titleError: errors.message("title"), startError: errors.message("start"), endError: errors.message("end"),
            quantityError: errors.message("quantity"), amountError: errors.message("amount"), renewalError: errors.message("renewal"),
            notesError: errors.message("notes"))
        return WebResponse.html(try templates.render("relations/order", model), status: errors.any ? .unprocessableContent : .ok)
    }

    /// The organisation's name, read for a relations manager; another library's id answers 404 and is audited.
    private func organisationName(_ id: UUID, _ context: KringRequestContext) async throws -> String {
        try await services.inTenant(.relationsWrite, context, record: id, "organisation", notFound: RelationsError.notFound(.organisation)) {
            tx, _, _ in try await Organisations.find(id: id, in: tx).name
        }
    }

    // MARK: Checks shared by both forms

    /// The Dutch checks of the fields both forms have; the services check the same again.
    private static func check(_ typed: Typed, amountRequired: Bool, into errors: inout FormErrors) -> (CalendarDate?, CalendarDate?, Int?) {
        let start = CalendarDate(typed.start)
        if start == nil { errors.add("start", "Vul de begindatum in.") }
        let end = typed.end.isEmpty ? nil : CalendarDate(typed.end)
        if !typed.end.isEmpty && end == nil { errors.add("end", "Dit is geen datum.") }
        if let start, let end, end < start { errors.add("end", "De einddatum ligt vóór de begindatum.") }
        var cents: Int?
        if typed.amount.isEmpty {
            if amountRequired { errors.add("amount", "Vul het bedrag in, bijvoorbeeld 1.250,00.") }
        } else if let parsed = Dutch.cents(typed.amount), parsed <= 100_000_000_000 {
            cents = parsed
        } else {
            errors.add("amount", "Geen bedrag in euro; schrijf bijvoorbeeld 1.250,00.")
        }
        if typed.notes.count > 4000 { errors.add("notes", "Gebruik hoogstens 4.000 tekens.") }
        return (start, end, cents)
    }

    /// A service's refusal (English, for integrations) at the form's field, in Dutch.
    private static func errors(from problems: [FieldError]) -> FormErrors {
        let fields = [
            "product": "title", "title": "title", "period_start": "start", "period_end": "end", "quantity": "quantity",
            "amount_cents": "amount", "renewal_date": "renewal", "notes": "notes", "deliverables": "notes",
        ]
        var errors = FormErrors()
        for problem in problems {
            errors.add(fields[problem.field] ?? "title", "Dit kon niet worden opgeslagen: \(problem.message)")
        }
        return errors
    }

    /// Adds (no `itemID`) or changes an order or agreement of the organisation in one transaction. False when the
    /// stored record changed since the form showed `version`; a record of another organisation or library is not found.
    private func store(
        _ context: KringRequestContext, organisationID: UUID, itemID: UUID?, subject: RelationsError.Subject, version: String,
        create: (TenantTransaction, AuditActor, Date) async throws -> Void,
        stored: (UUID, TenantTransaction) async throws -> (organisationID: UUID, updatedAt: Date),
        replace: (UUID, TenantTransaction, AuditActor, Date) async throws -> Void
    ) async throws -> Bool {
        try await services.inTenant(
            .relationsWrite, context, record: itemID ?? organisationID, itemID == nil ? "organisation" : subject.rawValue,
            notFound: RelationsError.notFound(itemID == nil ? .organisation : subject)
        ) { tx, actor, now in
            guard let itemID else {
                // Another library's organisation (or none) is not found here, before the service's own check.
                _ = try await Organisations.find(id: organisationID, in: tx)
                try await create(tx, actor, now)
                return true
            }
            let current = try await stored(itemID, tx)
            guard current.organisationID == organisationID else { throw RelationsError.notFound(subject) }
            guard Self.version(current.updatedAt) == version else { return false }
            try await replace(itemID, tx, actor, now)
            return true
        }
    }

    static let changedMeanwhile = "Iemand anders heeft dit intussen gewijzigd. Hieronder staat de nieuwe versie; breng uw wijziging opnieuw aan."

    // MARK: Orders

    func orderForm(_ context: KringRequestContext, orderID: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        var typed = Typed()
        typed.kind = Order.Kind.order.rawValue
        typed.status = Order.Status.ordered.rawValue
        typed.start = CalendarDate(services.now()).description
        var name: String?
        if let orderID { (typed, name) = try await storedOrder(orderID, of: id, context) }
        return try await render(
            staff, context, organisation: id, name: name, isOrder: true, itemID: orderID, typed: typed, renewalNote: nil, errors: FormErrors())
    }

    /// The stored order as the form shows it, with its organisation's name; an order of another organisation is not found.
    private func storedOrder(_ orderID: UUID, of organisationID: UUID, _ context: KringRequestContext) async throws -> (Typed, String) {
        // This library's order under another of its organisations: not found, but no probe of another library's ids.
        guard
            let (order, name) = try await services.inTenant(
                .relationsWrite, context, record: orderID, "order", notFound: RelationsError.notFound(.order),
                { tx, _, _ -> (Order, String)? in
                    let order = try await Orders.find(id: orderID, in: tx)
                    guard order.organisationID == organisationID else { return nil }
                    return (order, try await Organisations.find(id: organisationID, in: tx).name)
                })
        else { throw RelationsError.notFound(.order) }
        var typed = Typed()
        typed.kind = order.kind.rawValue
        typed.title = order.product
        typed.start = order.periodStart.description
        typed.end = order.periodEnd?.description ?? ""
        typed.quantity = String(order.quantity)
        typed.amount = Dutch.amountField(cents: order.amountCents)
        typed.status = order.status.rawValue
        typed.notes = order.notes ?? ""
        typed.version = Self.version(order.updatedAt)
        return (typed, name)
    }

    func saveOrder(_ request: Request, _ context: KringRequestContext, orderID: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        let typed = Typed(form: try await FormBody.read(request, limit: services.settings.maxBodyBytes))
        var errors = FormErrors()
        if Order.Kind(rawValue: typed.kind) == nil { errors.add("kind", "Kies bestelling of abonnement.") }
        if typed.title.isEmpty { errors.add("title", "Vul in wat er besteld is.") }
        if typed.title.count > 200 { errors.add("title", "Gebruik hoogstens 200 tekens.") }
        let (start, end, cents) = Self.check(typed, amountRequired: true, into: &errors)
        let quantity = Int(typed.quantity)
        if quantity == nil || !(1...1_000_000).contains(quantity ?? 0) { errors.add("quantity", "Vul een aantal in van 1 tot 1.000.000.") }
        if Order.Status(rawValue: typed.status) == nil { errors.add("status", "Kies een status.") }
        if errors.any {
            return try await render(staff, context, organisation: id, isOrder: true, itemID: orderID, typed: typed, renewalNote: nil, errors: errors)
        }
        let draft = OrderDraft(
            organisationID: id, kind: typed.kind, product: typed.title, periodStart: start?.description, periodEnd: end?.description,
            quantity: quantity, amountCents: cents, status: typed.status, notes: typed.notes.isEmpty ? nil : typed.notes)
        do {
            let saved = try await store(
                context, organisationID: id, itemID: orderID, subject: .order, version: typed.version,
                create: { tx, actor, now in _ = try await Orders.create(try draft.validate(), by: actor, now: now, in: tx) },
                stored: { itemID, tx in try await Orders.find(id: itemID, in: tx).stamp },
                replace: { itemID, tx, actor, now in _ = try await Orders.replace(id: itemID, with: try draft.validate(), by: actor, now: now, in: tx)
                })
            if !saved, let orderID {
                var errors = FormErrors()
                errors.add("title", Self.changedMeanwhile)
                let (stored, name) = try await storedOrder(orderID, of: id, context)
                return try await render(
                    staff, context, organisation: id, name: name, isOrder: true, itemID: orderID, typed: stored, renewalNote: nil, errors: errors)
            }
        } catch RelationsError.invalid(let problems) {
            return try await render(
                staff, context, organisation: id, isOrder: true, itemID: orderID, typed: typed, renewalNote: nil, errors: Self.errors(from: problems))
        }
        return WebResponse.redirect("/relaties/\(id.lower)?gedaan=bestelling#bestellingen")
    }

    // MARK: Agreements

    func agreementForm(_ context: KringRequestContext, agreementID: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        var typed = Typed()
        typed.kind = Agreement.Kind.performance.rawValue
        typed.status = Agreement.Status.active.rawValue
        typed.start = CalendarDate(services.now()).description
        var note: String?
        var name: String?
        if let agreementID { (typed, note, name) = try await storedAgreement(agreementID, of: id, context) }
        return try await render(
            staff, context, organisation: id, name: name, isOrder: false, itemID: agreementID, typed: typed, renewalNote: note, errors: FormErrors())
    }

    /// The stored agreement as the form shows it, where its renewal task stands, and its organisation's name; an agreement
    /// of another organisation is not found.
    private func storedAgreement(
        _ agreementID: UUID, of organisationID: UUID, _ context: KringRequestContext
    ) async throws -> (Typed, String?, String) {
        guard
            let (agreement, task, name) = try await services.inTenant(
                .relationsWrite, context, record: agreementID, "agreement", notFound: RelationsError.notFound(.agreement),
                { tx, _, now -> (Agreement, RelationTask?, String)? in
                    let agreement = try await Agreements.find(id: agreementID, in: tx)
                    guard agreement.organisationID == organisationID else { return nil }
                    return (
                        agreement, try await agreement.renewalTaskID.asyncMap { try await RelationTasks.find(id: $0, now: now, in: tx) },
                        try await Organisations.find(id: organisationID, in: tx).name
                    )
                })
        else { throw RelationsError.notFound(.agreement) }
        var typed = Typed()
        typed.kind = agreement.kind.rawValue
        typed.title = agreement.title
        typed.start = agreement.periodStart.description
        typed.end = agreement.periodEnd?.description ?? ""
        typed.amount = agreement.amountCents.map { Dutch.amountField(cents: $0) } ?? ""
        typed.status = agreement.status.rawValue
        typed.notes = agreement.deliverables ?? ""
        typed.renewal = agreement.renewalDate?.description ?? ""
        typed.version = Self.version(agreement.updatedAt)
        let note = task.map { task -> String in
            let due = Dutch.date(task.dueOn)
            switch task.status {
            case .open: return "De verlengingstaak staat open, uiterlijk \(due)."
            case .done: return "De verlengingstaak is afgerond."
            case .cancelled: return "De verlengingstaak is vervallen."
            }
        }
        return (typed, note, name)
    }

    func saveAgreement(_ request: Request, _ context: KringRequestContext, agreementID: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        let typed = Typed(form: try await FormBody.read(request, limit: services.settings.maxBodyBytes))
        var errors = FormErrors()
        if Agreement.Kind(rawValue: typed.kind) == nil { errors.add("kind", "Kies prestatieafspraak of subsidie.") }
        if typed.title.isEmpty { errors.add("title", "Geef de overeenkomst een naam.") }
        if typed.title.count > 200 { errors.add("title", "Gebruik hoogstens 200 tekens.") }
        let (start, end, cents) = Self.check(typed, amountRequired: false, into: &errors)
        let renewal = typed.renewal.isEmpty ? nil : CalendarDate(typed.renewal)
        if !typed.renewal.isEmpty && renewal == nil { errors.add("renewal", "Dit is geen datum.") }
        if Agreement.Status(rawValue: typed.status) == nil { errors.add("status", "Kies een status.") }
        func again(_ errors: FormErrors) async throws -> Response {
            try await render(staff, context, organisation: id, isOrder: false, itemID: agreementID, typed: typed, renewalNote: nil, errors: errors)
        }
        if errors.any { return try await again(errors) }
        let draft = AgreementDraft(
            organisationID: id, kind: typed.kind, title: typed.title, periodStart: start?.description, periodEnd: end?.description,
            amountCents: cents, deliverables: typed.notes.isEmpty ? nil : typed.notes, renewalDate: renewal?.description, status: typed.status)
        do {
            let saved = try await store(
                context, organisationID: id, itemID: agreementID, subject: .agreement, version: typed.version,
                create: { tx, actor, now in _ = try await Agreements.create(try draft.validate(), by: actor, now: now, in: tx) },
                stored: { itemID, tx in try await Agreements.find(id: itemID, in: tx).stamp },
                replace: { itemID, tx, actor, now in
                    _ = try await Agreements.replace(id: itemID, with: try draft.validate(), by: actor, now: now, in: tx)
                })
            if !saved, let agreementID {
                var errors = FormErrors()
                errors.add("title", Self.changedMeanwhile)
                let (stored, note, name) = try await storedAgreement(agreementID, of: id, context)
                return try await render(
                    staff, context, organisation: id, name: name, isOrder: false, itemID: agreementID, typed: stored, renewalNote: note,
                    errors: errors)
            }
        } catch RelationsError.invalid(let problems) {
            return try await again(Self.errors(from: problems))
        }
        let done = renewal != nil && typed.status != Agreement.Status.ended.rawValue ? "overeenkomst-taak" : "overeenkomst"
        return WebResponse.redirect("/relaties/\(id.lower)?gedaan=\(done)#overeenkomsten")
    }
}

extension Order {
    /// Whose it is and when it last changed, for the form's check against a lost update.
    fileprivate var stamp: (organisationID: UUID, updatedAt: Date) { (organisationID, updatedAt) }
}

extension Agreement {
    fileprivate var stamp: (organisationID: UUID, updatedAt: Date) { (organisationID, updatedAt) }
}
