import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringServer

/// Setting up two-factor sign-in (during sign-in where it is required, or from "Mijn account"), and the ten
/// recovery codes shown once.
struct TwoFactorPages {
    let services: AppServices
    let templates: WebTemplates

    struct EnrolModel {
        let chrome: Chrome
        let qr: String
        let typedSecret: String
        let error: String?
        let action: String
        let required: Bool
    }

    struct CodesModel {
        let chrome: Chrome
        let codes: [String]
    }

    /// The QR code and typed secret of the secret on offer (made now if there is none yet), with a field for the first code.
    func enrolPage(session: BrowserSession, cookie: String, action: String, required: Bool, wrong: Bool, chrome: Chrome) async throws -> Response {
        let (secret, email): (String, String) = try await services.db.withPlatform { tx in
            var secret = session.pendingSecret
            if secret == nil {
                let fresh = TwoFactor.newSecret()
                try await BrowserSessions.offerSecret(fresh, cookie: cookie, in: tx)
                secret = fresh
            }
            let email = try await StaffAccounts.user(id: session.userID, in: tx)?.email ?? ""
            return (secret ?? "", email)
        }
        let url = TwoFactor.authenticatorURL(secret: secret, account: email)
        let qr = try QRCode(text: url).svg(label: "QR-code voor uw authenticator-app", pixels: 220)
        let model = EnrolModel(
            chrome: chrome, qr: qr, typedSecret: TwoFactor.typedSecret(secret),
            error: wrong ? "Deze code klopt niet. Vul de 6 cijfers in die de app nu toont." : nil,
            action: action, required: required)
        return WebResponse.html(try templates.render("signin/enrol", model), status: wrong ? .unprocessableContent : .ok)
    }

    func recoveryCodesPage(_ codes: [String], chrome: Chrome) throws -> Response {
        WebResponse.html(try templates.render("signin/recovery-codes", CodesModel(chrome: chrome, codes: codes)))
    }
}
