import Foundation
import Hummingbird
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase

/// The public subscription pages under `/s/{tenant}`: sign-up (double opt-in), its confirmation, unsubscribe (RFC
/// 8058 one-click) and the preference centre. No login: a signed link proves control of the address. Logs carry only
/// the route pattern, never a token or an address.
struct SubscriptionPagesController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post(":tenant/subscribe") { request, context in try await subscribe(request, context) }
        group.get(":tenant/c/:token") { _, context in await PublicPage.serve(context) { try await confirmPage(context) } }
        group.post(":tenant/c/:token") { _, context in await PublicPage.serve(context) { try await confirm(context) } }
        group.get(":tenant/u/:token") { _, context in await PublicPage.serve(context) { try await unsubscribePage(context) } }
        group.post(":tenant/u/:token") { _, context in await PublicPage.serve(context) { try await unsubscribe(context) } }
        group.get(":tenant/p/:token") { _, context in await PublicPage.serve(context) { try await preferencesPage(context) } }
        group.post(":tenant/p/:token") { request, context in await PublicPage.serve(context) { try await savePreferences(request, context) } }
    }

    // MARK: Sign-up

    /// Always 202 with the same answer for a valid request, whether the address was known, confirmed already or
    /// suppressed: the form must not reveal who is a customer.
    func subscribe(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        guard let links = services.settings.links else { throw Problem.notFound() }
        let tenant: Tenant
        do { tenant = try await PublicLink.tenant(context, services: services) } catch { throw Problem.notFound("No such library.") }
        let json = request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true
        var email: String?
        var firstName: String?
        var keys: [String] = []
        var form: String?
        if json {
            let object = try await request.jsonObject(limit: services.settings.maxBodyBytes)
            email = object["email"] as? String
            firstName = object["first_name"] as? String
            keys = (object["lists"] as? [String]) ?? ((object["lists"] as? String).map { [$0] } ?? [])
            form = object["form"] as? String
        } else {
            let body = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
            email = body.value("email")
            firstName = body.value("first_name").flatMap { $0.trimmed().isEmpty ? nil : $0 }
            keys = body.values("lists")
            form = body.value("form")
        }
        guard let address = email.flatMap(EmailAddress.init) else {
            throw Problem.validation([FieldError(field: "email", message: "Give a valid e-mail address.")])
        }
        let signUp = Subscriptions.SignUp(
            email: address, firstName: firstName, listKeys: keys, clientAddress: context.clientAddress,
            form: form ?? request.headers[.referer])
        let now = services.now()
        try await services.db.withTenant(tenant) { tx in try await Subscriptions.subscribe(signUp, links: links, now: now, in: tx) }
        let message = "Bijna klaar: als dit adres zich kan aanmelden, krijg je een mail met een link om je aanmelding te bevestigen."
        if json {
            let body = #"{"status":"accepted","detail":"\#(message)"}"#
            return Response(
                status: .accepted, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return PublicPage.html(.accepted, title: "Kijk in je mailbox", body: PublicPage.paragraph(message))
    }

    // MARK: Double opt-in

    private func pendingSignUp(_ context: KringRequestContext) async throws -> (PublicLink, Subscriptions.PendingSignUp) {
        let link = try await PublicLink.resolve(.confirm, context, services: services)
        guard let consentID = Int64(link.claims.subject) else { throw PublicFailure.invalidLink }
        guard let pending = try await services.db.withTenant(link.tenant, { tx in try await Subscriptions.pending(consentID: consentID, in: tx) })
        else {
            throw PublicFailure.notFound
        }
        return (link, pending)
    }

    /// Shows what will be confirmed; changes nothing (mail scanners follow links).
    func confirmPage(_ context: KringRequestContext) async throws -> Response {
        let (link, pending) = try await pendingSignUp(context)
        if pending.confirmed {
            return PublicPage.html(title: "Al bevestigd", body: PublicPage.paragraph("Je aanmelding voor \(pending.list.name) is al bevestigd."))
        }
        guard pending.current else { throw PublicFailure.invalidLink }
        return PublicPage.html(
            title: "Bevestig je aanmelding",
            body: PublicPage.paragraph("Je meldt je aan voor \(pending.list.name) van \(link.tenant.name).")
                + PublicPage.paragraph(pending.list.consentText) + PublicPage.button("Ja, ik meld me aan"))
    }

    func confirm(_ context: KringRequestContext) async throws -> Response {
        let (link, pending) = try await pendingSignUp(context)
        let now = services.now()
        let confirmed = try await services.db.withTenant(link.tenant) { tx in
            try await Subscriptions.confirm(pending, clientAddress: context.clientAddress, now: now, in: tx)
        }
        guard confirmed || pending.confirmed else { throw PublicFailure.invalidLink }
        return PublicPage.html(title: "Bedankt", body: PublicPage.paragraph("Je aanmelding voor \(pending.list.name) is bevestigd."))
    }

    // MARK: Unsubscribe

    private func mailedSend(_ context: KringRequestContext) async throws -> (PublicLink, MailedSend) {
        let link = try await PublicLink.resolve(.unsubscribe, context, services: services)
        let sendID = try link.subjectID()
        guard let send = try await services.db.withTenant(link.tenant, { tx in try await MailedSend.find(id: sendID, in: tx) }) else {
            throw PublicFailure.notFound
        }
        return (link, send)
    }

    private func unsubscribeWhat(_ link: PublicLink, _ send: MailedSend) -> String {
        send.list.map { "\($0.name) van \(link.tenant.name)" } ?? "alle nieuwsbrieven en acties van \(link.tenant.name)"
    }

    /// Asks to confirm; changes nothing (mail scanners follow links, RFC 8058 section 3.1).
    func unsubscribePage(_ context: KringRequestContext) async throws -> Response {
        let (link, send) = try await mailedSend(context)
        return PublicPage.html(
            title: "Afmelden",
            body: PublicPage.paragraph("Wil je je afmelden voor \(unsubscribeWhat(link, send))?")
                + PublicPage.button("Afmelden", hidden: ["List-Unsubscribe": "One-Click"]))
    }

    /// The RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) and the page's button: no cookie, no login.
    func unsubscribe(_ context: KringRequestContext) async throws -> Response {
        let (link, send) = try await mailedSend(context)
        let now = services.now()
        try await services.db.withTenant(link.tenant) { tx in
            try await Unsubscribes.unsubscribe(send, clientAddress: context.clientAddress, now: now, in: tx)
        }
        return PublicPage.html(title: "Afgemeld", body: PublicPage.paragraph("Je bent afgemeld voor \(unsubscribeWhat(link, send))."))
    }

    // MARK: Preference centre

    private func customerLink(_ context: KringRequestContext) async throws -> (PublicLink, UUID) {
        let link = try await PublicLink.resolve(.preferences, context, services: services)
        return (link, try link.subjectID())
    }

    func preferencesPage(_ context: KringRequestContext) async throws -> Response {
        let (link, customerID) = try await customerLink(context)
        guard let view = try await services.db.withTenant(link.tenant, { tx in try await PreferenceCentre.view(customerID: customerID, in: tx) })
        else {
            throw PublicFailure.notFound
        }
        return preferencesForm(view, library: link.tenant.name, notice: nil)
    }

    func savePreferences(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (link, customerID) = try await customerLink(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let now = services.now()
        if form.value("action") == "unsubscribe_all" {
            let done = try await services.db.withTenant(link.tenant) { tx in
                try await PreferenceCentre.unsubscribeFromAll(customerID: customerID, clientAddress: context.clientAddress, now: now, in: tx)
            }
            guard done else { throw PublicFailure.notFound }
            return PublicPage.html(
                title: "Afgemeld", body: PublicPage.paragraph("Je krijgt geen nieuwsbrieven en acties meer van \(link.tenant.name)."))
        }
        var branchID: UUID?
        if let raw = form.value("branch"), !raw.isEmpty {
            guard let id = UUID(uuidString: raw) else { throw PublicFailure.invalid("Kies een vestiging uit de lijst.") }
            branchID = id
        }
        let genres = form.value("genres")?.split(whereSeparator: { $0 == "," || $0 == "\n" }).map(String.init) ?? []
        let choices = PreferenceCentre.Choices(listKeys: Set(form.values("list")), favouriteBranchID: branchID, genres: genres)
        guard
            let view = try await services.db.withTenant(
                link.tenant,
                { tx in
                    try await PreferenceCentre.apply(choices, customerID: customerID, clientAddress: context.clientAddress, now: now, in: tx)
                })
        else { throw PublicFailure.notFound }
        return preferencesForm(view, library: link.tenant.name, notice: "Je voorkeuren zijn opgeslagen.")
    }

    private func preferencesForm(_ view: PreferenceCentre.View, library: String, notice: String?) -> Response {
        let e = PublicPage.escape
        let lists = view.lists.map { choice in
            #"<label><input type="checkbox" name="list" value="\#(e(choice.list.key))"\#(choice.subscribed ? " checked" : "")> \#(e(choice.list.name))</label>"#
        }.joined()
        let branches =
            ([#"<option value="">Geen voorkeur</option>"#]
            + view.branches.map { branch in
                #"<option value="\#(branch.id.uuidString.lowercased())"\#(branch.id == view.favouriteBranchID ? " selected" : "")>\#(e(branch.name))</option>"#
            }).joined()
        let body =
            (notice.map(PublicPage.paragraph) ?? "") + """
                <form method="post">
                <fieldset><legend>Nieuwsbrieven van \(e(library))</legend>\(lists.isEmpty ? PublicPage.paragraph("Er zijn geen nieuwsbrieven.") : lists)</fieldset>
                <fieldset><label for="branch">Favoriete vestiging</label><select id="branch" name="branch">\(branches)</select></fieldset>
                <fieldset><label for="genres">Genres die je leuk vindt (gescheiden door komma's)</label>
                <input id="genres" name="genres" size="40" value="\(e(view.genres.joined(separator: ", ")))"></fieldset>
                <button type="submit" name="action" value="save">Opslaan</button>
                </form>
                """ + PublicPage.button("Afmelden voor alles", hidden: ["action": "unsubscribe_all"])
        return PublicPage.html(title: "Je voorkeuren", body: body)
    }
}
