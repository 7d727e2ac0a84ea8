import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringServer
import Logging

/// Everything the staff web app's pages share, in front of them: the browser session from its cookie, the form
/// token and Origin check on every POST, security headers, and pages (not problem documents) for errors.
struct WebMiddleware: RouterMiddleware {
    typealias Context = KringRequestContext

    let services: AppServices
    let templates: WebTemplates
    let cookies: WebCookies

    /// Paths that belong to the API, operations or the public pages, which answer in their own way.
    static func isWebPath(_ path: String) -> Bool {
        for prefix in ["/api/", "/health/", "/s/", "/t/", "/wachtwoord/"] where path.hasPrefix(prefix) { return false }
        if path == "/metrics" { return false }
        return true
    }

    static let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")
    /// The forms that carry a file.
    static let uploadPaths: Set<String> = ["/beheer/import", "/relaties/import", "/platform/mosaic"]

    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "object-src 'none'",
        "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isWebPath(request.uri.path) else { return try await next(request, context) }
        var context = context
        var response: Response
        do {
            if let cookie = request.cookies[BrowserSessions.cookieName]?.value, !cookie.isEmpty,
                let found = try await services.authentication.authenticate(browserCookie: cookie)
            {
                context.browserSession = found.session
                context.identity = found.principal
                // Pages only: a stylesheet or script fetched with the cookie needs no count.
                if request.method == .get, !request.uri.path.hasPrefix("/static/"), let principal = found.principal, let user = principal.userID,
                    principal.tenant != nil, principal.allows(.relationsRead)
                {
                    context.dueReminders = try await services.inTenant(.relationsRead, context) { tx, _, _ in
                        try await RelationTasks.dueReminders(assigneeUserID: user, in: tx)
                    }
                }
            }
            response = try await serve(request, context: context, next: next)
        } catch {
            response = errorPage(error, request: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        if let referrer = Self.referrerPolicy { response.headers[referrer] = "same-origin" }
        return response
    }

    private func serve(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if request.method == .post {
            try checkOrigin(request)
            // Only a signed-in upload may be large; every other form is small, read before anything else is done with it.
            let upload = context.identity != nil && Self.uploadPaths.contains(request.uri.path)
            let limit = upload ? services.settings.maxImportBytes : services.settings.maxBodyBytes
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: limit)
            } catch {
                throw Problem.tooLarge("The form is larger than \(limit) bytes.")
            }
            let contentType = request.headers[.contentType] ?? ""
            if !upload, contentType.lowercased().hasPrefix("multipart/") { throw WebRefusal.formToken }
            // A half-done sign-in may go back to the sign-in form, whose token is the form cookie's.
            var expected = [context.browserSession?.csrfToken].compactMap { $0 }
            if context.browserSession == nil || context.browserSession?.pending != nil {
                expected += [request.cookies[WebCookies.formTokenName]?.value].compactMap { $0 }
            }
            let sent = Self.formToken(buffer, contentType: contentType)
            guard let sent, expected.contains(where: { !$0.isEmpty && Self.constantTimeEqual(sent, $0) }) else {
                services.authentication.db.logger.notice("web form refused: form token missing or wrong", metadata: ["path": "\(request.uri.path)"])
                throw WebRefusal.formToken
            }
        }
        return try await next(request, context)
    }

    /// A browser names the page a form came from in `Origin`: it must be this site (as the browser reached it).
    private func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        guard let host = request.head.authority,
            let url = URL(string: origin), let originHost = url.host
        else { throw WebRefusal.origin }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        if originAuthority.lowercased() == host.lowercased() { return }
        if let publicURL = URL(string: services.settings.publicURL), let publicHost = publicURL.host,
            (publicURL.port.map { "\(publicHost):\($0)" } ?? publicHost).lowercased() == originAuthority.lowercased()
        {
            return
        }
        throw WebRefusal.origin
    }

    /// The `_csrf` field of a urlencoded form, or of a multipart form (an upload).
    static func formToken(_ buffer: ByteBuffer, contentType: String) -> String? {
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            return MultipartForm(buffer: buffer, contentType: contentType)?.field("_csrf")
        }
        return FormBody(String(buffer: buffer)).value("_csrf")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    // MARK: Error pages

    struct ErrorModel {
        let chrome: Chrome
        let heading: String
        let message: String
        let reference: String?
        let signIn: Bool
    }

    private func errorPage(_ error: any Error, request: Request, context: Context) -> Response {
        let status: Int
        if let refusal = error as? WebRefusal {
            status = 403
            _ = refusal
        } else if let convertible = error as? any ProblemConvertible {
            status = convertible.problem.status
        } else if let http = error as? any HTTPResponseError {
            status = http.status.code
        } else {
            status = 500
        }
        if status == 401 {
            let back =
                request.method == .get
                ? "?terug="
                    + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-"))) ?? "/")
                : ""
            return WebResponse.redirect("/inloggen" + back)
        }
        let (heading, message): (String, String) =
            switch status {
            case 404: ("Deze pagina bestaat niet", "Het adres klopt niet, of wat u zoekt is er niet (meer). Ga terug, of zoek de klant opnieuw op.")
            case 403 where error is WebRefusal:
                ("Dit formulier is verlopen", "Het formulier kon niet worden gecontroleerd. Laad de pagina opnieuw en probeer het nog eens.")
            case 403: ("Geen toegang", "Uw rol geeft geen toegang tot deze pagina. Vraag de beheerder van uw bibliotheek als u dit wel nodig hebt.")
            case 413: ("Te groot", "Het bestand of formulier is te groot om te verwerken.")
            case 429: ("Even wachten", "Er waren te veel pogingen. Probeer het over een paar minuten opnieuw.")
            case 400..<500: ("Dat lukte niet", "De gegevens konden niet worden verwerkt. Ga terug en controleer wat u invulde.")
            default:
                (
                    "Er ging iets mis",
                    "Dit is een fout in Kring, niet iets wat u deed. Probeer het opnieuw; blijft het misgaan, geef dan de code hieronder door aan de beheerder."
                )
            }
        if status >= 500 {
            services.authentication.db.logger.error(
                "web page failed",
                metadata: [
                    "path": "\(request.uri.path)", "request_id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))",
                ])
        }
        let chrome: Chrome
        if let staff = try? Staff(context) {
            chrome = staff.chrome(heading, area: nil)
        } else {
            chrome = .signedOut(heading, csrf: "")
        }
        let model = ErrorModel(
            chrome: chrome, heading: heading, message: message,
            reference: status >= 500 ? context.requestID : nil, signIn: chrome.signedIn == false)
        var response = WebResponse.html(
            (try? templates.render("error", model)) ?? "<!doctype html><title>\(heading)</title><h1>\(heading)</h1>",
            status: HTTPResponse.Status(code: status))
        if status == 429, let problem = (error as? any ProblemConvertible)?.problem, let retry = problem.retryAfter {
            response.headers[.retryAfter] = String(retry)
        }
        return response
    }
}

/// A form refused before its handler ran: no or wrong form token, or posted from another site.
enum WebRefusal: Error {
    case formToken
    case origin
}

/// The web app's cookies: the session, and before sign-in the form token of the sign-in form.
struct WebCookies: Sendable {
    static let formTokenName = "kring_form"
    /// `Secure` when people reach Kring over https (`KRING_PUBLIC_URL`).
    let secure: Bool

    func session(_ value: String) -> Cookie {
        Cookie(name: BrowserSessions.cookieName, value: value, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func endSession() -> Cookie {
        Cookie(name: BrowserSessions.cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func formToken(_ value: String) -> Cookie {
        Cookie(name: Self.formTokenName, value: value, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}
