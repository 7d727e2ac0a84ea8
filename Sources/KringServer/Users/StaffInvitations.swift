import Foundation
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import Logging

/// A library's invitations reach the invitee by mail, never the inviter.
///
/// An inviter who was handed a set-up token for new accounts only would learn which addresses already have an
/// account, in any library. So the answer to an invitation is the same either way, and the mail says what fits:
/// a link to set a first password, or that the existing sign-in now opens this library too.
public enum StaffInvitations {
    public static let jobKind = "staff.invitation"

    /// Only who: the role and name are read from the membership when the mail is built, so a change in between counts.
    struct Payload: Codable {
        let userID: UUID
        enum CodingKeys: String, CodingKey { case userID = "user_id" }
    }

    /// Queues the mail in the invitation's own transaction, so an invitation that rolls back mails nobody.
    static func enqueue(userID: UUID, tenant: Tenant, now: Date, in tx: PlatformTransaction) async throws {
        let payload = String(decoding: try JSONEncoder().encode(Payload(userID: userID)), as: UTF8.self)
        _ = try await JobQueue.enqueue(kind: jobKind, payload: payload, tenantID: tenant.id, runAt: now, maxAttempts: 5, in: tx)
    }

    /// The public address is plain http on another machine: a set-up link would travel unencrypted.
    struct UnsafeLinks: Error, CustomStringConvertible {
        var description: String { "invitation not mailed: KRING_PUBLIC_URL must be https for a set-up link" }
    }

    /// A delivery the relay may take later: the job is tried again.
    struct DeliveryPostponed: Error, CustomStringConvertible {
        let description: String
    }

    /// The worker's handler. The set-up token is issued only when the mail is built, for an account that still has no
    /// password, so no token is ever kept in clear in the queue; a retry issues a new one and voids the old.
    /// `fallbackSender` (`KRING_MAIL_FROM`) is used when the library has no sender of its own.
    public static func handlers(
        db: Database, transport: any MailTransport, publicURL: String, fallbackSender: String?, now: @escaping @Sendable () -> Date,
        logger: Logger
    ) -> [String: JobHandler] {
        // A set-up link is a credential: never sent over plain http to another machine (loopback is a local run).
        let linksSafe = URL(string: publicURL).map(MailMessage.acceptsUnsubscribeURL) ?? false
        return [
            jobKind: { job in
                let payload = try UnreadableColumn.json(Payload.self, job.payload, column: "payload")
                guard let tenantID = job.tenantID else { return }
                let time = now()
                let found: (tenant: Tenant, member: TenantMember, token: String?)? = try await db.withPlatform { tx in
                    guard let tenant = try await TenantDirectory.find(id: tenantID, in: tx),
                        let member = try await StaffAccounts.member(userID: payload.userID, tenantID: tenantID, in: tx),
                        !member.disabled, !member.user.disabled
                    else { return nil }
                    let needsPassword = try await !StaffAccounts.hasPassword(userID: payload.userID, in: tx)
                    guard !needsPassword || linksSafe else { throw UnsafeLinks() }
                    let token = needsPassword ? try await SetupTokens.issue(userID: payload.userID, now: time, in: tx) : nil
                    return (tenant, member, token)
                }
                // The membership was withdrawn (or the account disabled) before the mail went: nothing to say.
                guard let found else { return }
                let settings = try await db.withTenant(found.tenant) { tx in try await MailSettings.load(in: tx) }
                guard let senderAddress = settings.fromAddress ?? fallbackSender else {
                    logger.error(
                        "invitation not mailed: the library has no sender address and KRING_MAIL_FROM is not set",
                        metadata: ["tenant": "\(found.tenant.slug.value)"])
                    return
                }
                let sender = try MailSender(
                    from: MailAddress(senderAddress, name: settings.fromName ?? found.tenant.name),
                    replyTo: settings.replyTo.map { try MailAddress($0) })
                let user = found.member.user
                let text = body(user: user, library: found.tenant.name, role: dutchName(found.member.role), token: found.token, publicURL: publicURL)
                let message = try sender.message(
                    to: MailAddress(user.email, name: user.displayName),
                    subject: "Je bent uitgenodigd voor Kring van \(found.tenant.name)", text: text)
                switch await transport.send(message) {
                case .sent: return
                case .temporaryFailure(let failure): throw DeliveryPostponed(description: "invitation mail postponed: \(failure.stage.rawValue)")
                case .permanentFailure(let failure):
                    logger.error("invitation mail refused", metadata: ["tenant": "\(found.tenant.slug.value)", "stage": "\(failure.stage.rawValue)"])
                }
            }
        ]
    }

    /// The page where an invitee sets a first password, under the public address.
    public static func passwordURL(token: String, publicURL: String) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/wachtwoord/\(token)"
    }

    static func body(user: StaffUser, library: String, role: String, token: String?, publicURL: String) -> String {
        let name = user.displayName.trimmed()
        let greeting = name.isEmpty ? "Hallo," : "Hallo \(name),"
        if let token {
            return """
                \(greeting)

                \(library) heeft je uitgenodigd om als \(role) met Kring te werken.
                Kies hier je wachtwoord (de link werkt één keer en is \(Int(SetupTokens.lifetime / 3600)) uur geldig):

                \(passwordURL(token: token, publicURL: publicURL))

                Daarna log je in met je e-mailadres \(user.email) en dat wachtwoord.
                Had je deze uitnodiging niet verwacht? Dan kun je deze mail negeren.
                """
        }
        return """
            \(greeting)

            \(library) heeft je als \(role) toegang gegeven tot Kring.
            Je logt in met je bestaande wachtwoord en kiest daarna \(library).
            Had je dit niet verwacht? Neem dan contact op met de beheerder van \(library).
            """
    }

    static func dutchName(_ role: Role) -> String {
        switch role {
        case .platformAdmin: "beheerder bij Probiblio"
        case .tenantAdmin: "beheerder"
        case .marketing: "marketingmedewerker"
        case .relations: "accountmanager"
        case .frontdesk: "baliemedewerker"
        case .analyst: "analist"
        }
    }
}
