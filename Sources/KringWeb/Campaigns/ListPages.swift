import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer

/// Verzendlijsten: the library's mailing lists with their subscribers by status, and one list with the texts of its
/// double opt-in (what a subscriber agrees to, and the confirmation mail) and the HTML of the sign-up form to paste
/// on the library's site.
struct ListPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes/lijsten") { request, context in try await list(request, context) }
        router.get("campagnes/lijsten/:id") { request, context in try await show(request, context) }
    }

    struct Row: Sendable {
        let href: String
        let name: String
        let visibility: String
        let confirmed: String
        let pending: String
        let withdrawn: String
    }

    struct ListModel {
        let chrome: Chrome
        let listsTab = true
        let rows: [Row]
        let none: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let lists = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            let lists = try await SubscriptionLists.list(after: nil, limit: 200, in: tx).filter { $0.archivedAt == nil }
            let counts = try await SubscriptionLists.subscriberCounts(of: lists, in: tx)
            return Array(zip(lists, counts))
        }
        let rows = lists.sorted { $0.0.name.localizedStandardCompare($1.0.name) == .orderedAscending }.map { list, counts in
            Row(
                href: "/campagnes/lijsten/\(list.id.lower)", name: list.name,
                visibility: list.public ? "op het aanmeldformulier" : "alleen door medewerkers", confirmed: Dutch.number(counts.confirmed),
                pending: Dutch.number(counts.pending), withdrawn: Dutch.number(counts.withdrawn))
        }
        let model = ListModel(chrome: staff.chrome("Verzendlijsten", area: "/campagnes"), rows: rows, none: rows.isEmpty)
        return WebResponse.html(try templates.render("campaigns/lists", model))
    }

    struct ShowModel {
        let chrome: Chrome
        let name: String
        let description: String
        let facts: [Fact]
        let consentText: String
        let mailSubject: String
        let mailText: String
        let isPublic: Bool
        let snippet: String
    }

    /// The sign-up form to paste on the library's site: it posts to Kring's public sign-up, which mails the
    /// confirmation link (double opt-in) and answers the same whether or not the address is known.
    static func snippet(action: String, list: SubscriptionList) -> String {
        let consent = HTMLText.escape(list.consentText)
        return """
            <form method="post" action="\(HTMLText.escape(action))">
              <input type="hidden" name="lists" value="\(HTMLText.escape(list.key))">
              <input type="hidden" name="form" value="website">
              <label for="kring-email">E-mailadres</label>
              <input id="kring-email" name="email" type="email" autocomplete="email" required>
              <label for="kring-voornaam">Voornaam (niet verplicht)</label>
              <input id="kring-voornaam" name="first_name" autocomplete="given-name">
              <p>\(consent) Je krijgt eerst een mail om je aanmelding te bevestigen.</p>
              <button type="submit">Aanmelden</button>
            </form>
            """
    }

    func show(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw ListError.notFound }
        let (list, counts, mail) = try await services.inTenant(.campaignsRead, context, record: id, "list", notFound: ListError.notFound) {
            tx, _, _ in
            (
                try await SubscriptionLists.find(id: id, in: tx), try await SubscriptionLists.subscriberCounts(id: id, in: tx),
                try await TransactionalMails.doubleOptInMail(in: tx)
            )
        }
        guard list.archivedAt == nil else { throw ListError.notFound }
        let base = (services.settings.links?.baseURL ?? services.settings.publicURL).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let slug = staff.tenant?.slug.value ?? ""
        let model = ShowModel(
            chrome: staff.chrome(list.name, area: "/campagnes"), name: list.name, description: list.description ?? "",
            facts: [
                Fact(label: "Bevestigd", value: Dutch.number(counts.confirmed)),
                Fact(label: "Aangemeld, nog niet bevestigd", value: Dutch.number(counts.pending)),
                Fact(label: "Afgemeld", value: Dutch.number(counts.withdrawn)),
                Fact(label: "Versie van de tekst", value: list.consentVersion),
            ],
            consentText: list.consentText, mailSubject: mail.subject.replacingOccurrences(of: "{{list_name}}", with: list.name),
            mailText: mail.text.replacingOccurrences(of: "{{list_name}}", with: list.name)
                .replacingOccurrences(of: "{{{confirm_url}}}", with: "(de persoonlijke bevestigingslink)"),
            isPublic: list.public, snippet: Self.snippet(action: "\(base)/s/\(slug)/subscribe", list: list))
        return WebResponse.html(try templates.render("campaigns/list-show", model))
    }
}
