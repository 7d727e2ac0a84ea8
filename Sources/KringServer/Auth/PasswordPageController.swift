import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase

/// The page behind an invitation mail's link: the invitee chooses a first password. Works without JavaScript; the
/// token in the path is the only credential, so the page sends no referrer and is never cached (`PublicPage`).
struct PasswordPageController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get(":token") { _, context in await PublicPage.serve(context) { try await show(context) } }
        group.post(":token") { request, context in await PublicPage.serve(context) { try await save(request, context) } }
    }

    static let title = "Kies je wachtwoord"

    func show(_ context: KringRequestContext) async throws -> Response {
        let token = try usableToken(context)
        guard try await services.db.withPlatform({ tx in try await SetupTokens.isUsable(token, now: services.now(), in: tx) }) else {
            throw PublicFailure.invalidLink
        }
        return Self.form()
    }

    func save(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let token = try usableToken(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let password = form.value("password") ?? ""
        if PasswordPolicy.validate(password) != nil {
            return Self.form(
                status: .unprocessableContent,
                error: "Kies een wachtwoord van \(PasswordPolicy.minimumLength) tot \(PasswordPolicy.maximumLength) tekens.")
        }
        guard password == form.value("password_again") else {
            return Self.form(status: .unprocessableContent, error: "De twee wachtwoorden zijn niet gelijk. Typ ze nog eens.")
        }
        do {
            try await AuthController.completeSetup(token: token, password: password, address: context.clientAddress, services: services)
        } catch StaffError.invalidSetupToken {
            throw PublicFailure.invalidLink
        }
        return PublicPage.html(
            title: "Je wachtwoord is ingesteld",
            body: PublicPage.paragraph(
                "Je kunt nu inloggen in Kring met je e-mailadres en dit wachtwoord."))
    }

    /// A token of the shape `SetupTokens` issues; anything else is a link that cannot work.
    private func usableToken(_ context: KringRequestContext) throws -> String {
        guard let token = context.parameters.get("token"), token.hasPrefix("krs_"), token.count <= 100,
            token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw PublicFailure.invalidLink }
        return token
    }

    static func form(status: HTTPResponse.Status = .ok, error: String? = nil) -> Response {
        let message = error.map { #"<p role="alert"><strong>\#(PublicPage.escape($0))</strong></p>"# } ?? ""
        let body = """
            \(message)
            <p>Kies een wachtwoord van minstens \(PasswordPolicy.minimumLength) tekens. Een zin van een paar woorden is sterk en goed te onthouden.</p>
            <form method="post">
            <label for="password">Wachtwoord</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(PasswordPolicy.minimumLength)" maxlength="\(PasswordPolicy.maximumLength)">
            <label for="password_again">Herhaal je wachtwoord</label>
            <input id="password_again" name="password_again" type="password" autocomplete="new-password" required>
            <p><button type="submit">Wachtwoord opslaan</button></p>
            </form>
            """
        return PublicPage.html(status, title: title, body: body)
    }
}
