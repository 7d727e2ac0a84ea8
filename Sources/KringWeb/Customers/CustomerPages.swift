import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// Klanten: the search at the counter, the 360 view, changing details with the version check, a contact moment
/// and a consent statement. Thin adapters over KringB2C, with the API's permissions and tenancy.
struct CustomerPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("klanten") { request, context in try await search(request, context) }
        router.get("klanten/:id") { request, context in try await show(request, context) }
        router.get("klanten/:id/bewerken") { _, context in try await editForm(context) }
        router.post("klanten/:id/bewerken") { request, context in try await edit(request, context) }
        router.get("klanten/:id/contactmoment") { _, context in try await contactForm(context) }
        router.post("klanten/:id/contactmoment") { request, context in try await addContact(request, context) }
        router.get("klanten/:id/toestemming") { _, context in try await consentForm(context) }
        router.post("klanten/:id/toestemming") { request, context in try await recordConsent(request, context) }
    }

    /// The id in the path; anything that is not one answers the 404 page.
    private func customerID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw CustomerError.notFound }
        return id
    }

    // MARK: Search

    struct Row: Sendable {
        let href: String
        let name: String
        let memberNumber: String?
        let postcode: String?
        let city: String?
        let kind: String
    }

    struct SearchModel {
        let chrome: Chrome
        let query: String
        let searched: Bool
        let rows: [Row]
        let none: Bool
        let next: String?
        let kinds: [Choice]
        var count: String = ""
        var canCreate: Bool = false
    }

    static let kindNames: [Customer.RoleKind: String] = [.member: "lid", .guest: "gast", .visitor: "bezoeker"]

    static func kind(_ customer: Customer) -> String {
        customer.roles.compactMap { kindNames[$0] }.joined(separator: ", ")
    }

    func search(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(.customersRead)
        let parameters = request.uri.queryParameters
        let query = String(parameters["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let role = parameters["soort"].flatMap { Customer.RoleKind(rawValue: String($0)) }
        let after = parameters["na"].flatMap { UUID(uuidString: String($0)) }
        let kinds =
            [Choice(value: "", label: "Alle klanten", selected: role == nil)]
            + Customer.RoleKind.allCases.map { Choice(value: $0.rawValue, label: Self.kindNames[$0] ?? $0.rawValue, selected: role == $0) }
        guard !query.isEmpty || role != nil else {
            let model = SearchModel(
                chrome: staff.chrome("Klant opzoeken", area: "/klanten"), query: "", searched: false, rows: [], none: false, next: nil,
                kinds: kinds, canCreate: staff.may(.customersWrite))
            return WebResponse.html(try templates.render("customers/search", model))
        }
        let limit = 50
        let found = try await services.inTenant(.customersRead, context) { tx, actor, now in
            try await Customers.search(
                Customers.Search(query: query.isEmpty ? nil : query, role: role, after: after, limit: limit), by: actor, now: now, in: tx)
        }
        // A member number or postcode typed at the counter goes straight to the person when it is theirs alone.
        if found.count == 1, after == nil, let only = found.first, Self.isDirectKey(query, for: only) {
            return WebResponse.redirect("/klanten/\(only.id.lower)")
        }
        let rows = found.map { customer in
            Row(
                href: "/klanten/\(customer.id.lower)", name: customer.displayName.isEmpty ? "(naam onbekend)" : customer.displayName,
                memberNumber: customer.memberNumber, postcode: Dutch.postcode(customer.postcode), city: customer.city, kind: Self.kind(customer))
        }
        var next: String?
        if found.count == limit, let last = found.last {
            var items = [URLQueryItem(name: "q", value: query), URLQueryItem(name: "na", value: last.id.lower)]
            if let role { items.append(URLQueryItem(name: "soort", value: role.rawValue)) }
            var components = URLComponents()
            components.path = "/klanten"
            components.queryItems = items
            next = components.string
        }
        let count =
            rows.count == limit
            ? "Meer dan \(limit - 1) klanten gevonden; de eerste \(limit):" : "\(rows.count) \(rows.count == 1 ? "klant" : "klanten") gevonden"
        let model = SearchModel(
            chrome: staff.chrome("Zoeken: \(query)", area: "/klanten", query: query), query: query, searched: true,
            rows: rows, none: rows.isEmpty, next: next, kinds: kinds, count: count, canCreate: staff.may(.customersWrite))
        return WebResponse.html(try templates.render("customers/search", model))
    }

    static func isDirectKey(_ query: String, for customer: Customer) -> Bool {
        let compact = query.uppercased().filter { !$0.isWhitespace }
        if let number = customer.memberNumber, number.uppercased() == compact { return true }
        if let postcode = customer.postcode, postcode.uppercased().filter({ !$0.isWhitespace }) == compact { return true }
        return false
    }

    // MARK: The 360 view

    struct ConsentLine: Sendable {
        let topic: String
        let status: String
        let since: String
        let proof: String
    }

    struct Line: Sendable {
        let title: String
        let detail: String?
        let when: String
        let href: String?
    }

    struct ShowModel {
        let chrome: Chrome
        let id: String
        let name: String
        let kind: String
        let badges: [String]
        let facts: [Fact]
        let household: [Line]
        let consents: [ConsentLine]
        let noConsents: Bool
        let loans: [Fact]
        let registrations: [Line]
        let complaints: [Line]
        let timeline: [Line]
        let canEdit: Bool
        let canConsent: Bool
        let canExport: Bool
        let canErase: Bool
        let erased: Bool
    }

    static let notices: [String: String] = [
        "opgeslagen": "De gegevens zijn opgeslagen.",
        "contactmoment": "Het contactmoment is vastgelegd.",
        "toestemming": "De toestemming is vastgelegd.",
        "samengevoegd": "De dubbele inschrijving is samengevoegd met deze klant.",
        "gewist": "De persoonsgegevens van deze klant zijn gewist.",
    ]

    static let channelNames: [ContactMoment.Channel: String] = [
        .desk: "balie", .phone: "telefoon", .email: "e-mail", .web: "website", .letter: "brief", .event: "activiteit",
    ]

    static let memberTypeNames: [Customer.MemberType: String] = [
        .youth: "jeugd", .adult: "volwassene", .friend: "vriend", .nt2: "NT2", .libraryAtHome: "bibliotheek aan huis",
        .digital: "digitaal", .institution: "instelling", .other: "anders",
    ]

    static let registrationNames: [Registration.Status: String] = [
        .booked: "aangemeld", .attended: "aanwezig", .noShow: "niet verschenen", .cancelled: "afgemeld", .waitlisted: "op de wachtlijst",
    ]

    static func consentStatus(_ status: Consent.Status) -> String {
        switch status {
        case .optedIn: "aangemeld, nog niet bevestigd"
        case .confirmed: "gegeven"
        case .withdrawn: "ingetrokken"
        }
    }

    static func consentProof(_ consent: Consent) -> String {
        var parts: [String] = []
        switch consent.source {
        case .staff: parts.append("vastgelegd door een medewerker")
        case .webForm: parts.append("via het formulier op de website")
        case .import: parts.append("uit het bibliotheeksysteem")
        case .merge: parts.append("overgenomen bij samenvoegen")
        }
        if let how = consent.evidence["how"], !how.isEmpty { parts.append(how) }
        if let note = consent.evidence["note"], !note.isEmpty { parts.append(note) }
        if let version = consent.textVersion { parts.append("tekstversie \(version)") }
        if consent.givenByParentID != nil { parts.append("gegeven door ouder/verzorger") }
        return parts.joined(separator: "; ")
    }

    /// What a line of the timeline says: a contact moment's subject, or a system event in words.
    static func timelineTitle(_ moment: ContactMoment, topics: [String: String]) -> String {
        guard moment.kind == "system", let event = moment.event else { return moment.subject ?? "Contactmoment" }
        let topic = moment.subject.map { topics[$0] ?? $0 } ?? ""
        switch event {
        case "customer.created": return "Klant ingeschreven"
        case "customer.updated":
            guard let subject = moment.subject, subject.hasPrefix("Changed: ") else { return "Gegevens bijgewerkt" }
            let labels = Dictionary(uniqueKeysWithValues: editable.map { ($0.name, $0.label.lowercased()) })
            let fields = subject.dropFirst("Changed: ".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return "Gegevens gewijzigd: " + fields.map { labels[$0] ?? $0.replacingOccurrences(of: "_", with: " ") }.joined(separator: ", ")
        case "customer.merged": return "Samengevoegd met een dubbele inschrijving"
        case "customer.erased": return "Persoonsgegevens gewist"
        case "consent.confirmed": return "Toestemming gegeven: \(topic)"
        case "consent.opted_in": return "Aangemeld, nog niet bevestigd: \(topic)"
        case "consent.withdrawn": return "Toestemming ingetrokken: \(topic)"
        case "complaint.created": return "Klacht ontvangen: \(moment.subject ?? "")"
        default:
            if event.hasPrefix("registration."), let status = Registration.Status(rawValue: String(event.dropFirst("registration.".count))) {
                return "Activiteit: \(registrationNames[status] ?? status.rawValue)"
            }
            return moment.subject ?? event
        }
    }

    func show(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let (profile, topicPairs, activityTitles) = try await services.inTenant(.customersRead, context, probing: [id]) { tx, actor, now in
            let profile = try await CustomerPrivacy.profile(id: id, by: actor, now: now, in: tx)
            var titles: [UUID: (String, Date)] = [:]
            let ids = profile.registrations.map(\.activityID)
            if !ids.isEmpty {
                for try await (activity, title, startsAt) in try await tx.query(
                    "SELECT id, title, starts_at FROM activities WHERE id = ANY(\(ids))"
                ).decode((UUID, String, Date).self) {
                    titles[activity] = (title, startsAt)
                }
            }
            return (profile, try await self.topicNames(profile.consents.map(\.topic), in: tx), titles)
        }
        let topicNames = Dictionary(topicPairs, uniquingKeysWith: { first, _ in first })
        let now = services.now()
        let customer = profile.customer
        var facts: [Fact] = []
        func fact(_ label: String, _ value: String?) { if let value, !value.isEmpty { facts.append(Fact(label: label, value: value)) } }
        fact("Lidnummer", customer.memberNumber)
        fact("Abonnement", customer.memberType.flatMap { Self.memberTypeNames[$0] })
        fact("Lid sinds", customer.membershipStart.map(Dutch.date))
        fact("Lid tot", customer.membershipEnd.map(Dutch.date))
        fact("Geboortedatum", customer.birthDate.map(Dutch.date))
        fact("E-mail", customer.email)
        fact("Telefoon", customer.phone)
        let address = [
            [customer.street, [customer.houseNumber, customer.houseNumberAddition].compactMap { $0 }.joined(separator: " ")]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "),
            [Dutch.postcode(customer.postcode), customer.city].compactMap { $0 }.joined(separator: " "),
        ]
        .filter { !$0.isEmpty }.joined(separator: ", ")
        fact("Adres", address)
        fact("Gemeente", customer.municipality)
        fact("Abonnementsgeld", customer.subscriptionFeeCents.map { Dutch.amount(cents: $0) })
        fact("Notities", customer.notes)

        var badges: [String] = []
        switch customer.membershipStatus {
        case .active?: badges.append("lidmaatschap actief")
        case .ended?: badges.append("lidmaatschap beëindigd")
        case .suspended?: badges.append("lidmaatschap geblokkeerd")
        case nil: break
        }
        if !profile.openComplaints.isEmpty {
            badges.append("\(profile.openComplaints.count) open \(profile.openComplaints.count == 1 ? "klacht" : "klachten")")
        }

        let signals = customer.loanSignals
        var loans = [
            Fact(label: "Leningen afgelopen 12 maanden", value: Dutch.number(signals.loans12m)),
            Fact(label: "Leningen in totaal", value: Dutch.number(signals.loansTotal)),
        ]
        if let last = signals.lastLoanDate { loans.insert(Fact(label: "Laatst geleend", value: Dutch.date(last)), at: 0) }
        let genres = signals.genreCounts.sorted { $0.value > $1.value }.prefix(3).map(\.key)
        if !genres.isEmpty { loans.append(Fact(label: "Leest vooral", value: genres.joined(separator: ", "))) }

        let model = ShowModel(
            chrome: staff.chrome(
                customer.displayName.isEmpty ? "Klant" : customer.displayName, area: "/klanten",
                notice: request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] }),
            id: id.lower, name: customer.displayName.isEmpty ? "(naam onbekend)" : customer.displayName,
            kind: [Self.kind(customer), customer.memberType.flatMap { Self.memberTypeNames[$0] }].compactMap { $0 }.joined(separator: ", "),
            badges: badges, facts: facts,
            household: profile.household.map {
                Line(
                    title: $0.name, detail: $0.relation == "parent" ? "ouder/verzorger" : ($0.relation == "child" ? "kind" : "huisgenoot"),
                    when: "", href: "/klanten/\($0.id.lower)")
            },
            consents: profile.consents.map {
                ConsentLine(
                    topic: topicNames[$0.topic] ?? $0.topic, status: Self.consentStatus($0.status), since: Dutch.date($0.recordedAt),
                    proof: Self.consentProof($0))
            },
            noConsents: profile.consents.isEmpty, loans: loans,
            registrations: profile.registrations.map { registration in
                let activity = activityTitles[registration.activityID]
                return Line(
                    title: activity?.0 ?? "Activiteit", detail: Self.registrationNames[registration.status] ?? registration.status.rawValue,
                    when: Dutch.date(activity?.1 ?? registration.registeredAt),
                    href: staff.may(.activitiesRead) ? "/activiteiten/\(registration.activityID.lower)" : nil)
            },
            complaints: profile.openComplaints.map {
                Line(title: $0.category, detail: "afhandelen \(Dutch.relativeDay($0.dueAt, now: now))", when: Dutch.date($0.createdAt), href: nil)
            },
            timeline: profile.timeline.map {
                Line(
                    title: Self.timelineTitle($0, topics: topicNames), detail: $0.channel.flatMap { Self.channelNames[$0] },
                    when: Dutch.dateTime($0.occurredAt), href: nil)
            },
            canEdit: staff.may(.customersWrite) && customer.erasedAt == nil, canConsent: staff.may(.consentsWrite) && customer.erasedAt == nil,
            canExport: staff.may(.customersExport) && customer.erasedAt == nil, canErase: staff.may(.customersErase) && customer.erasedAt == nil,
            erased: customer.erasedAt != nil)
        return WebResponse.html(try templates.render("customers/show", model))
    }

    // MARK: Changing details, with the version check

    struct Field: Sendable {
        let name: String
        let label: String
        let value: String
        let original: String
        let error: String?
        let hint: String?
        let type: String
        let autocomplete: String
        let multiline: Bool
        let describedBy: String?
    }

    struct Change: Sendable {
        let label: String
        let was: String
        let now: String
    }

    struct EditModel {
        let chrome: Chrome
        let id: String
        let name: String
        let version: Int
        let fields: [Field]
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let conflict: [Change]
        let hasConflict: Bool
    }

    /// The fields the front desk changes here; the rest of the customer stays as it is.
    static let editable:
        [(
            name: String, label: String, hint: String?, type: String, autocomplete: String,
            get: @Sendable (Customer) -> String?, set: @Sendable (inout CustomerDraft, String?) -> Void
        )] = [
            ("first_name", "Voornaam", nil, "text", "off", { $0.firstName }, { $0.firstName = $1 }),
            ("infix", "Tussenvoegsel", nil, "text", "off", { $0.infix }, { $0.infix = $1 }),
            ("last_name", "Achternaam", nil, "text", "off", { $0.lastName }, { $0.lastName = $1 }),
            ("birth_date", "Geboortedatum", "Bijvoorbeeld 7-3-1984", "text", "off", { $0.birthDate.map(dutchNumeric) }, { $0.birthDate = $1 }),
            ("email", "E-mailadres", nil, "email", "off", { $0.email }, { $0.email = $1 }),
            ("phone", "Telefoon", nil, "tel", "off", { $0.phone }, { $0.phone = $1 }),
            ("street", "Straat", nil, "text", "off", { $0.street }, { $0.street = $1 }),
            ("house_number", "Huisnummer", nil, "text", "off", { $0.houseNumber }, { $0.houseNumber = $1 }),
            ("house_number_addition", "Toevoeging", nil, "text", "off", { $0.houseNumberAddition }, { $0.houseNumberAddition = $1 }),
            ("postcode", "Postcode", "Bijvoorbeeld 2011 AB", "text", "off", { Dutch.postcode($0.postcode) }, { $0.postcode = $1 }),
            ("city", "Plaats", nil, "text", "off", { $0.city }, { $0.city = $1 }),
            ("municipality", "Gemeente", nil, "text", "off", { $0.municipality }, { $0.municipality = $1 }),
            ("notes", "Notities", nil, "textarea", "off", { $0.notes }, { $0.notes = $1 }),
        ]

    static func dutchNumeric(_ date: CalendarDate) -> String { "\(date.day)-\(date.month)-\(date.year)" }

    /// What a field's error says, in the words of the counter.
    static let dutchErrors: [String: String] = [
        "first_name": "Vul een voornaam in van hooguit 100 tekens.",
        "last_name": "Vul een achternaam in van hooguit 100 tekens.",
        "infix": "Vul een tussenvoegsel in zoals ‘van der’.",
        "birth_date": "Vul een geboortedatum in zoals 7-3-1984 (niet in de toekomst).",
        "email": "Vul een e-mailadres in zoals naam@voorbeeld.nl.",
        "phone": "Vul een telefoonnummer in met alleen cijfers, spaties, + en -.",
        "postcode": "Vul een postcode in zoals 2011 AB.",
        "house_number": "Vul een huisnummer in zoals 12.",
        "house_number_addition": "Vul een toevoeging in zoals A of bis.",
        "street": "Vul een straatnaam in van hooguit 200 tekens.",
        "city": "Vul een plaatsnaam in van hooguit 200 tekens.",
        "municipality": "Vul een gemeente in van hooguit 200 tekens.",
        "notes": "De notitie is te lang.",
    ]

    private func editModel(_ staff: Staff, customer: Customer, version: Int, typed: FormBody?, errors: FormErrors, conflict: [Change]) -> EditModel {
        let fields = Self.editable.map { field -> Field in
            let current = field.get(customer) ?? ""
            let original = typed?.value("orig_" + field.name) ?? current
            let error = errors.message(field.name)
            let described = [field.hint.map { _ in "h-" + field.name }, error.map { _ in "e-" + field.name }].compactMap { $0 }.joined(separator: " ")
            // After a colleague's save, a field this person left alone shows the colleague's value; what they typed stays.
            let typedValue = typed?.value(field.name)
            let value = if !conflict.isEmpty, let typedValue, typedValue == original { current } else { typedValue ?? current }
            return Field(
                name: field.name, label: field.label, value: value,
                original: conflict.isEmpty ? original : current,
                error: error, hint: field.hint, type: field.type, autocomplete: field.autocomplete,
                multiline: field.type == "textarea", describedBy: described.isEmpty ? nil : described)
        }
        return EditModel(
            chrome: staff.chrome("Gegevens wijzigen", area: "/klanten"), id: customer.id.lower,
            name: customer.displayName.isEmpty ? "Klant" : customer.displayName, version: version, fields: fields,
            errors: errors.items.map { item in FormErrors.Item(field: item.field, message: item.message) },
            hasErrors: errors.any, conflict: conflict, hasConflict: !conflict.isEmpty)
    }

    func editForm(_ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let customer = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            try await Customers.read(id: id, by: actor, now: now, in: tx)
        }
        guard customer.erasedAt == nil else { throw CustomerError.notFound }
        return WebResponse.html(
            try templates.render(
                "customers/edit",
                editModel(
                    staff, customer: customer, version: customer.version, typed: nil,
                    errors: FormErrors(), conflict: [])))
    }

    func edit(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let expected = Int(form.value("version") ?? "") ?? -1
        enum Outcome {
            case saved
            case invalid(Customer, FormErrors)
            case conflict(Customer)
        }
        let outcome: Outcome = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            let current = try await Customers.read(id: id, by: actor, now: now, in: tx)
            if current.version != expected { return .conflict(current) }
            var draft = CustomerDraft(current)
            // A field the form did not send stays as it is; an emptied one is cleared.
            for field in Self.editable {
                guard let sent = form.value(field.name) else { continue }
                let value = sent.trimmingCharacters(in: .whitespacesAndNewlines)
                field.set(&draft, value.isEmpty ? nil : value)
            }
            let valid: CustomerDraft.Valid
            do {
                valid = try draft.validate(today: CalendarDate(now))
            } catch CustomerError.invalid(let problems) {
                var errors = FormErrors()
                for problem in problems { errors.add(problem.field, Self.dutchErrors[problem.field] ?? "Controleer dit veld.") }
                return .invalid(current, errors)
            }
            do {
                _ = try await Customers.replace(id: id, with: valid, expectedVersion: expected, by: actor, now: now, in: tx)
            } catch CustomerError.versionMismatch {
                return .conflict(try await Customers.read(id: id, by: actor, now: now, in: tx))
            } catch CustomerError.duplicateMemberNumber {
                var errors = FormErrors()
                errors.add("member_number", "Een andere klant heeft dit lidnummer.")
                return .invalid(current, errors)
            }
            return .saved
        }
        switch outcome {
        case .saved:
            return WebResponse.redirect("/klanten/\(id.lower)?gedaan=opgeslagen")
        case .invalid(let current, let errors):
            return WebResponse.html(
                try templates.render(
                    "customers/edit",
                    editModel(
                        staff, customer: current, version: expected, typed: form,
                        errors: errors, conflict: [])), status: .unprocessableContent)
        case .conflict(let current):
            // A colleague saved first: show what they changed, keep what was typed, and base the next save on their version.
            let changes = Self.editable.compactMap { field -> Change? in
                let was = form.value("orig_" + field.name) ?? ""
                let now = field.get(current) ?? ""
                return was == now ? nil : Change(label: field.label, was: was.isEmpty ? "(leeg)" : was, now: now.isEmpty ? "(leeg)" : now)
            }
            return WebResponse.html(
                try templates.render(
                    "customers/edit",
                    editModel(
                        staff, customer: current, version: current.version, typed: form,
                        errors: FormErrors(), conflict: changes.isEmpty ? [Change(label: "Andere gegevens", was: "", now: "gewijzigd")] : changes)),
                status: .conflict)
        }
    }

    // MARK: Contact moment

    struct ContactModel {
        let chrome: Chrome
        let id: String
        let name: String
        let channels: [Choice]
        let directions: [Choice]
        let subject: String
        let body: String
        let error: String?
    }

    private func contactModel(_ staff: Staff, _ customer: Customer, form: FormBody?, error: String?) -> ContactModel {
        let channel = form?.value("channel") ?? "desk"
        let direction = form?.value("direction") ?? "inbound"
        return ContactModel(
            chrome: staff.chrome("Contactmoment vastleggen", area: "/klanten"), id: customer.id.lower, name: customer.displayName,
            channels: ContactMoment.Channel.allCases.map {
                Choice(value: $0.rawValue, label: Self.channelNames[$0] ?? $0.rawValue, selected: $0.rawValue == channel)
            },
            directions: [
                Choice(value: "inbound", label: "de klant nam contact op", selected: direction == "inbound"),
                Choice(value: "outbound", label: "wij namen contact op", selected: direction == "outbound"),
            ],
            subject: form?.value("subject") ?? "", body: form?.value("body") ?? "", error: error)
    }

    func contactForm(_ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let customer = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            try await Customers.read(id: id, by: actor, now: now, in: tx)
        }
        return WebResponse.html(try templates.render("customers/contact", contactModel(staff, customer, form: nil, error: nil)))
    }

    func addContact(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let draft = ContactMomentDraft(
            channel: form.value("channel") ?? "", direction: form.value("direction") ?? "",
            subject: form.value("subject") ?? "", body: (form.value("body") ?? "").isEmpty ? nil : form.value("body"))
        let outcome: Customer? = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            do {
                _ = try await Timeline.add(draft, customerID: id, by: actor, now: now, in: tx)
                return nil
            } catch CustomerError.invalid {
                return try await Customers.read(id: id, by: actor, now: now, in: tx)
            }
        }
        if let customer = outcome {
            return WebResponse.html(
                try templates.render(
                    "customers/contact",
                    contactModel(
                        staff, customer, form: form,
                        error: "Vul een onderwerp in (hooguit 200 tekens) en kies hoe het contact ging.")),
                status: .unprocessableContent)
        }
        return WebResponse.redirect("/klanten/\(id.lower)?gedaan=contactmoment")
    }

    // MARK: Consent

    struct ConsentModel {
        let chrome: Chrome
        let id: String
        let name: String
        let topics: [Choice]
        let statuses: [Choice]
        let how: String
        let error: String?
    }

    private func consentModel(_ staff: Staff, _ customer: Customer, topics: [(String, String)], form: FormBody?, error: String?) -> ConsentModel {
        let topic = form?.value("topic") ?? ""
        let status = form?.value("status") ?? "confirmed"
        return ConsentModel(
            chrome: staff.chrome("Toestemming vastleggen", area: "/klanten"), id: customer.id.lower, name: customer.displayName,
            topics: topics.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == topic) },
            statuses: [
                Choice(value: "confirmed", label: "De klant geeft toestemming", selected: status == "confirmed"),
                Choice(value: "withdrawn", label: "De klant trekt toestemming in", selected: status == "withdrawn"),
            ],
            how: form?.value("how") ?? "", error: error)
    }

    /// The names of these topics (a list's name for `list:<key>`), without reading every consent of the library.
    private func topicNames(_ topics: [String], in tx: TenantTransaction) async throws -> [(String, String)] {
        var names: [(String, String)] = topics.filter { $0 == "newsletter:weekly" }.map { ($0, "Weekbrief (nieuwsbrief)") }
        let keys = topics.filter { $0.hasPrefix("list:") }.map { String($0.dropFirst("list:".count)) }
        guard !keys.isEmpty else { return names }
        for try await (key, name) in try await tx.query("SELECT key, name FROM lists WHERE key = ANY(\(keys))").decode((String, String).self) {
            names.append(("list:\(key)", name))
        }
        return names
    }

    /// What one can consent to here: the library's mailing lists and the topics already in use.
    static func topics(in tx: TenantTransaction) async throws -> [(String, String)] {
        var topics: [(String, String)] = []
        for try await (key, name) in try await tx.query("SELECT key, name FROM lists WHERE archived_at IS NULL ORDER BY name").decode(
            (String, String).self)
        {
            topics.append(("list:\(key)", name))
        }
        let known = Set(topics.map(\.0))
        for try await topic in try await tx.query("SELECT DISTINCT topic FROM consents ORDER BY topic LIMIT 50").decode(String.self)
        where !known.contains(topic) {
            topics.append((topic, topic == "newsletter:weekly" ? "Weekbrief (nieuwsbrief)" : topic))
        }
        return topics
    }

    func consentForm(_ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let (customer, topics) = try await services.inTenant(.consentsWrite, context, probing: [id]) { tx, actor, now in
            (try await Customers.read(id: id, by: actor, now: now, in: tx), try await Self.topics(in: tx))
        }
        return WebResponse.html(try templates.render("customers/consent", consentModel(staff, customer, topics: topics, form: nil, error: nil)))
    }

    func recordConsent(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try customerID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let how = (form.value("how") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let draft = ConsentDraft(
            topic: form.value("topic") ?? "", status: form.value("status") ?? "", source: "staff",
            evidence: ["how": how.isEmpty ? "aan de balie" : String(how.prefix(500)), "client_address": context.clientAddress ?? "unknown"])
        let failed: (Customer, [(String, String)], String)? = try await services.inTenant(.consentsWrite, context, probing: [id]) { tx, actor, now in
            do {
                _ = try await Consents.record(draft, customerID: id, by: actor, now: now, in: tx)
                return nil
            } catch CustomerError.invalid(let problems) {
                let message =
                    problems.contains { $0.field == "given_by_parent_id" }
                    ? "Deze klant is jonger dan 16: een ouder of verzorger geeft toestemming. Leg dat vast via de ouder."
                    : "Kies waarvoor de klant toestemming geeft of intrekt."
                return (try await Customers.read(id: id, by: actor, now: now, in: tx), try await Self.topics(in: tx), message)
            }
        }
        if let (customer, topics, message) = failed {
            return WebResponse.html(
                try templates.render("customers/consent", consentModel(staff, customer, topics: topics, form: form, error: message)),
                status: .unprocessableContent)
        }
        return WebResponse.redirect("/klanten/\(id.lower)?gedaan=toestemming")
    }
}
