import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringServer

/// The start page of a library (Probiblio's administrators go to their console), and "Mijn account" with two-factor
/// sign-in.
struct HomePages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("/") { _, context in try await home(context) }
        router.get("account") { _, context in try await account(context) }
        router.get("account/tweestaps") { request, context in try await enrolForm(request, context, wrong: false) }
        router.post("account/tweestaps") { request, context in try await enrol(request, context) }
    }

    struct HomeModel {
        let chrome: Chrome
        let library: String
        let canSearch: Bool
        let role: String
    }

    static let roleNames: [Role: String] = [
        .platformAdmin: "platformbeheerder", .tenantAdmin: "beheerder", .marketing: "marketing", .relations: "relatiebeheer",
        .frontdesk: "baliemedewerker", .analyst: "analist",
    ]

    func home(_ context: KringRequestContext) async throws -> Response {
        if let session = context.browserSession, let pending = session.pending {
            return WebResponse.redirect(pending == .secondFactor ? "/inloggen/code" : "/inloggen/instellen")
        }
        guard context.identity != nil else { return WebResponse.redirect("/inloggen") }
        let staff = try Staff(context)
        guard let tenant = staff.tenant else { return WebResponse.redirect("/platform") }
        let model = HomeModel(
            chrome: staff.chrome("Overzicht", area: "/"), library: tenant.name, canSearch: staff.may(.customersRead),
            role: staff.principal.role.flatMap { Self.roleNames[$0] } ?? "")
        return WebResponse.html(try templates.render("home", model))
    }

    struct AccountModel {
        let chrome: Chrome
        let name: String
        let email: String
        let role: String
        let twoFactor: Bool
        let recoveryLeft: Int
        let idleMinutes: Int
    }

    func account(_ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let (email, status) = try await services.db.withPlatform { tx in
            let email = try await StaffAccounts.user(id: staff.session.userID, in: tx)?.email ?? ""
            return (email, try await TwoFactor.status(userID: staff.session.userID, in: tx))
        }
        let model = AccountModel(
            chrome: staff.chrome("Mijn account", area: "/account"), name: staff.session.displayName, email: email,
            role: staff.principal.role.flatMap { Self.roleNames[$0] } ?? "", twoFactor: status.enabled,
            recoveryLeft: status.remainingRecoveryCodes, idleMinutes: staff.session.idleMinutes)
        return WebResponse.html(try templates.render("account", model))
    }

    func enrolForm(_ request: Request, _ context: KringRequestContext, wrong: Bool) async throws -> Response {
        let staff = try Staff(context)
        // On already: never show or replace the active secret here.
        if try await services.db.withPlatform({ tx in try await TwoFactor.status(userID: staff.session.userID, in: tx) }).enabled {
            return WebResponse.redirect("/account")
        }
        return try await TwoFactorPages(services: services, templates: templates).enrolPage(
            session: staff.session, cookie: request.cookies[BrowserSessions.cookieName]?.value ?? "", action: "/account/tweestaps",
            required: false, wrong: wrong, chrome: staff.chrome("Tweestapsverificatie instellen", area: "/account"))
    }

    func enrol(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let time = services.now()
        guard let secret = staff.session.pendingSecret,
            let step = TwoFactor.matchingStep(code: form.value("code") ?? "", secret: secret, now: time)
        else {
            return try await enrolForm(request, context, wrong: true)
        }
        let enabled: [String]? = try await services.db.withPlatform { tx in
            let codes: [String]
            do {
                codes = try await TwoFactor.enable(userID: staff.session.userID, secret: secret, confirmedStep: step, now: time, in: tx)
            } catch TwoFactor.EnableError.alreadyEnabled {
                return nil
            }
            try await PlatformAudit.record(
                AuditEvent(
                    action: "two_factor.enabled", tenantID: staff.session.tenantID, actorUserID: staff.session.userID,
                    targetType: "user", targetID: staff.session.userID.lower, ip: context.clientAddress), at: time, in: tx)
            return codes
        }
        guard let codes = enabled else { return WebResponse.redirect("/account") }
        return try TwoFactorPages(services: services, templates: templates).recoveryCodesPage(
            codes, chrome: staff.chrome("Bewaar uw herstelcodes", area: "/account"))
    }
}
