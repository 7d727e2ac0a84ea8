import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringServer

/// Signing in and out: e-mail, password and library; the code from the authenticator app where two-factor is on;
/// setting two-factor up where it is required; signing out here or everywhere.
struct SignInPages {
    let services: AppServices
    let templates: WebTemplates
    let cookies: WebCookies

    static let platformChoice = "probiblio"

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("inloggen") { request, context in try await signInForm(request, context) }
        router.post("inloggen") { request, context in try await signIn(request, context) }
        router.get("inloggen/code") { _, context in try await codeForm(context, wrong: false) }
        router.post("inloggen/code") { request, context in try await enterCode(request, context) }
        router.get("inloggen/instellen") { request, context in try await enrolForm(request, context, wrong: false) }
        router.post("inloggen/instellen") { request, context in try await enrol(request, context) }
        router.post("uitloggen") { _, context in try await signOut(context, everywhere: false) }
        router.post("overal-uitloggen") { _, context in try await signOut(context, everywhere: true) }
        router.get("bibliotheek-wisselen") { request, context in try await switchForm(request, context) }
        router.get("wachtwoord-vergeten") { request, context in try await forgotForm(request, sent: nil) }
        router.post("wachtwoord-vergeten") { request, context in try await forgot(request, context) }
    }

    // MARK: E-mail, password, library

    struct SignInModel {
        let chrome: Chrome
        let email: String
        let libraries: [Choice]
        var switching = false
        let chosen: Bool
        let error: String?
        let notice: String?
        let back: String?
    }

    private func signInChrome(_ title: String, csrf: String) -> Chrome { .signedOut(title, csrf: csrf) }

    /// A safe place to return to after signing in: a path on this site only.
    static func safeBack(_ raw: String?) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.?=&%-")
        guard let raw, raw.count <= 500, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.hasPrefix("/inloggen"),
            raw.allSatisfy({ allowed.contains($0) })
        else { return nil }
        return raw
    }

    func signInForm(
        _ request: Request, _ context: KringRequestContext, email: String = "", library: String? = nil,
        error: String? = nil, status: HTTPResponse.Status = .ok, back: String? = nil
    ) async throws -> Response {
        if context.identity != nil, error == nil { return WebResponse.redirect("/") }
        let token = request.cookies[WebCookies.formTokenName]?.value ?? SecureRandom.token(32)
        let tenants = try await services.db.withPlatform { tx in try await TenantDirectory.list(in: tx) }
            .filter { $0.status == .active }.sorted { $0.name < $1.name }
        let chosen = library ?? request.cookies["kring_bibliotheek"]?.value
        var options = tenants.map { Choice(value: $0.slug.value, label: $0.name, selected: $0.slug.value == chosen) }
        options.append(Choice(value: Self.platformChoice, label: "Probiblio (platformbeheer)", selected: chosen == Self.platformChoice))
        let query = request.uri.queryParameters
        let notice: String? =
            query["afgemeld"] != nil ? "U bent uitgelogd." : (query["verlopen"] != nil ? "U was een tijd niet actief en bent uitgelogd." : nil)
        let model = SignInModel(
            chrome: signInChrome("Inloggen", csrf: token), email: email, libraries: options,
            chosen: options.contains { $0.selected }, error: error,
            notice: error == nil ? notice : nil, back: back ?? Self.safeBack(query["terug"].map(String.init)))
        var response = WebResponse.html(try templates.render("signin/signin", model), status: status)
        response.setCookie(cookies.formToken(token))
        return response
    }

    func signIn(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let email = (form.value("email") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let password = form.value("password") ?? ""
        let library = form.value("library") ?? ""
        let back = Self.safeBack(form.value("terug"))
        guard !email.isEmpty, !password.isEmpty, !library.isEmpty else {
            return try await signInForm(
                request, context, email: email, library: library,
                error: "Vul uw e-mailadres en wachtwoord in en kies uw bibliotheek.", status: .unprocessableContent, back: back)
        }
        let verified: Authentication.VerifiedLogin
        do {
            verified = try await services.authentication.verifyPassword(
                email: email, password: password, tenant: library == Self.platformChoice ? nil : library, address: context.clientAddress)
        } catch let problem as Problem where problem.status == 401 {
            return try await signInForm(
                request, context, email: email, library: library,
                error: "Het e-mailadres, het wachtwoord of de bibliotheek klopt niet.", status: .unauthorized, back: back)
        } catch let problem as Problem where problem.status == 429 {
            let minutes = max(1, ((problem.retryAfter ?? 60) + 59) / 60)
            var response = try await signInForm(
                request, context, email: email, library: library,
                error: "Te veel mislukte pogingen. Probeer het over \(minutes) \(minutes == 1 ? "minuut" : "minuten") opnieuw.",
                status: .tooManyRequests, back: back)
            response.headers[.retryAfter] = String(problem.retryAfter ?? 60)
            return response
        }
        var response: Response
        if verified.twoFactorEnabled || verified.mustEnrol {
            let pending: BrowserSession.Pending = verified.twoFactorEnabled ? .secondFactor : .enrol
            let time = services.now()
            let previous = context.browserSession?.familyID
            let cookie = try await services.db.withPlatform { tx in
                if let previous { try await Sessions.revoke(sessionID: previous, reason: "switched_library", now: time, in: tx) }
                return try await BrowserSessions.create(
                    userID: verified.userID, tenantID: verified.tenant?.id, familyID: nil, pending: pending,
                    idleMinutes: BrowserSessions.pendingMinutes, now: time, in: tx)
            }
            let next = pending == .secondFactor ? "/inloggen/code" : "/inloggen/instellen"
            response = WebResponse.redirect(
                next + (back.map { "?terug=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? ""))
            response.setCookie(cookies.session(cookie))
        } else {
            response = WebResponse.redirect(back ?? "/")
            response.setCookie(cookies.session(try await startSession(verified, replacing: nil, context)))
        }
        response.setCookie(
            Cookie(
                name: "kring_bibliotheek", value: library.filter { $0.isLetter || $0.isNumber || $0 == "-" },
                maxAge: 365 * 24 * 3600, path: "/", secure: cookies.secure, httpOnly: true, sameSite: .lax))
        return response
    }

    /// Starts the session family and a fresh browser session for it (a new id: no fixation); ends a half-done one.
    private func startSession(
        _ verified: Authentication.VerifiedLogin, replacing pendingCookie: String?, _ context: KringRequestContext
    ) async throws -> String {
        let time = services.now()
        let previous = context.browserSession
        return try await services.db.withPlatform { tx in
            // Signing in to another library from a session ends that session: one browser, one library.
            if let family = previous?.familyID {
                try await Sessions.revoke(sessionID: family, reason: "switched_library", now: time, in: tx)
            }
            let session = try await services.authentication.startSession(verified, address: context.clientAddress, in: tx)
            if let pendingCookie { try await BrowserSessions.delete(cookie: pendingCookie, in: tx) }
            return try await BrowserSessions.create(
                userID: verified.userID, tenantID: verified.tenant?.id, familyID: session.sessionID,
                pending: nil, idleMinutes: verified.policy.idleMinutes, now: time, in: tx)
        }
    }

    // MARK: The code from the app

    struct CodeModel {
        let chrome: Chrome
        let error: String?
        let back: String?
    }

    private func pending(_ context: KringRequestContext, _ kind: BrowserSession.Pending) throws -> BrowserSession {
        guard let session = context.browserSession, session.pending == kind else { throw Problem.unauthorized() }
        return session
    }

    func codeForm(_ context: KringRequestContext, wrong: Bool, back: String? = nil) async throws -> Response {
        let session = try pending(context, .secondFactor)
        let model = CodeModel(
            chrome: signInChrome("Code invullen", csrf: session.csrfToken),
            error: wrong ? "Deze code klopt niet. Vul de code in die de app nu toont, of een herstelcode." : nil, back: back)
        return WebResponse.html(try templates.render("signin/code", model), status: wrong ? .unauthorized : .ok)
    }

    func enterCode(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let session = try pending(context, .secondFactor)
        let cookie = request.cookies[BrowserSessions.cookieName]?.value ?? ""
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let back = Self.safeBack(form.value("terug"))
        guard let verified = try await services.authentication.resumeLogin(session) else { throw Problem.unauthorized() }
        let ok: Bool
        do {
            ok = try await services.authentication.checkSecondFactor(verified, code: form.value("code") ?? "", address: context.clientAddress)
        } catch let problem as Problem where problem.status == 429 {
            try await services.db.withPlatform { tx in try await BrowserSessions.delete(cookie: cookie, in: tx) }
            throw problem
        }
        guard ok else {
            let wrong = try await services.db.withPlatform { tx in try await BrowserSessions.countWrongCode(cookie: cookie, in: tx) }
            if wrong >= 5 {
                try await services.db.withPlatform { tx in try await BrowserSessions.delete(cookie: cookie, in: tx) }
                var response = WebResponse.redirect("/inloggen")
                response.setCookie(cookies.endSession())
                return response
            }
            return try await codeForm(context, wrong: true, back: back)
        }
        var response = WebResponse.redirect(back ?? "/")
        response.setCookie(cookies.session(try await startSession(verified, replacing: cookie, context)))
        return response
    }

    // MARK: Setting two-factor up where it is required

    func enrolForm(_ request: Request, _ context: KringRequestContext, wrong: Bool) async throws -> Response {
        let session = try pending(context, .enrol)
        return try await TwoFactorPages(services: services, templates: templates).enrolPage(
            session: session, cookie: request.cookies[BrowserSessions.cookieName]?.value ?? "", action: "/inloggen/instellen",
            required: true, wrong: wrong, chrome: signInChrome("Tweestapsverificatie instellen", csrf: session.csrfToken))
    }

    func enrol(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let session = try pending(context, .enrol)
        let cookie = request.cookies[BrowserSessions.cookieName]?.value ?? ""
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        guard let verified = try await services.authentication.resumeLogin(session), verified.mustEnrol,
            let secret = session.pendingSecret
        else { throw Problem.unauthorized() }
        let time = services.now()
        guard let step = TwoFactor.matchingStep(code: form.value("code") ?? "", secret: secret, now: time) else {
            let wrong = try await services.db.withPlatform { tx in try await BrowserSessions.countWrongCode(cookie: cookie, in: tx) }
            if wrong >= 5 {
                try await services.db.withPlatform { tx in try await BrowserSessions.delete(cookie: cookie, in: tx) }
                return WebResponse.redirect("/inloggen")
            }
            return try await enrolForm(request, context, wrong: true)
        }
        let codes = try await services.db.withPlatform { tx in
            let codes: [String]
            do {
                codes = try await TwoFactor.enable(userID: verified.userID, secret: secret, confirmedStep: step, now: time, in: tx)
            } catch TwoFactor.EnableError.alreadyEnabled {
                throw Problem.unauthorized()
            }
            try await PlatformAudit.record(
                AuditEvent(
                    action: "two_factor.enabled", tenantID: verified.tenant?.id, actorUserID: verified.userID,
                    targetType: "user", targetID: verified.userID.lower, ip: context.clientAddress), at: time, in: tx)
            return codes
        }
        let newCookie = try await startSession(verified, replacing: cookie, context)
        var response = try TwoFactorPages(services: services, templates: templates)
            .recoveryCodesPage(codes, chrome: signInChrome("Bewaar uw herstelcodes", csrf: ""))
        response.setCookie(cookies.session(newCookie))
        return response
    }

    // MARK: Another library

    /// For a person who works for several libraries: sign in to another one (password, and code where needed, again:
    /// every library sets its own rules). The session here ends when the new one starts.
    func switchForm(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let (email, libraries) = try await services.db.withPlatform { tx in
            let email = try await StaffAccounts.user(id: staff.session.userID, in: tx)?.email ?? ""
            var libraries: [Choice] = []
            for try await (slug, name) in try await tx.query(
                """
                SELECT t.slug, t.name FROM platform.memberships m JOIN platform.tenants t ON t.id = m.tenant_id
                WHERE m.user_id = \(staff.session.userID) AND m.disabled_at IS NULL AND t.status = 'active' ORDER BY t.name
                """
            ).decode((String, String).self) {
                libraries.append(Choice(value: slug, label: name, selected: slug == staff.tenant?.slug.value))
            }
            if try await tx.query("SELECT 1 FROM platform.platform_admins WHERE user_id = \(staff.session.userID)").decode(Int.self).first(where: {
                _ in true
            }) != nil {
                libraries.append(Choice(value: Self.platformChoice, label: "Probiblio (platformbeheer)", selected: staff.tenant == nil))
            }
            return (email, libraries)
        }
        var model = SignInModel(
            chrome: staff.chrome("Andere bibliotheek", area: "/bibliotheek-wisselen"), email: email, libraries: libraries,
            chosen: true, error: nil, notice: nil, back: nil)
        model.switching = true
        return WebResponse.html(try templates.render("signin/signin", model))
    }

    // MARK: Forgotten password

    struct ForgotModel {
        let chrome: Chrome
        let sent: Bool
        let email: String
    }

    func forgotForm(_ request: Request, sent email: String?) async throws -> Response {
        let token = request.cookies[WebCookies.formTokenName]?.value ?? SecureRandom.token(32)
        var response = WebResponse.html(
            try templates.render(
                "signin/forgot",
                ForgotModel(
                    chrome: signInChrome("Wachtwoord vergeten", csrf: token), sent: email != nil, email: email ?? "")))
        response.setCookie(cookies.formToken(token))
        return response
    }

    /// Says the same whether or not the address has an account.
    func forgot(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let email = (form.value("email") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        try await PasswordResets.request(email: email, address: context.clientAddress, db: services.db, now: services.now())
        return try await forgotForm(request, sent: String(email.prefix(200)))
    }

    // MARK: Signing out

    func signOut(_ context: KringRequestContext, everywhere: Bool) async throws -> Response {
        if let session = context.browserSession {
            let time = services.now()
            try await services.db.withPlatform { tx in
                if everywhere {
                    try await Sessions.revokeAll(userID: session.userID, tenantID: nil, reason: "logout_everywhere", now: time, in: tx)
                } else if let family = session.familyID {
                    try await Sessions.revoke(sessionID: family, reason: "logout", now: time, in: tx)
                }
                try await PlatformAudit.record(
                    AuditEvent(
                        action: everywhere ? "logout.everywhere" : "logout", tenantID: session.tenantID, actorUserID: session.userID,
                        targetType: "session", targetID: session.familyID?.lower, ip: context.clientAddress), at: time, in: tx)
            }
        }
        var response = WebResponse.redirect("/inloggen?afgemeld=1")
        response.setCookie(cookies.endSession())
        return response
    }
}
