import Foundation
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import Logging

/// "Wachtwoord vergeten": a mail with a one-time link (72 hours) to choose a new password, sent by the worker. The
/// page that asks says the same whether or not the address has an account, and sends at most one mail per account
/// every 15 minutes.
public enum PasswordResets {
    public static let jobKind = "staff.password_reset"
    static let quietPeriod: TimeInterval = 15 * 60

    struct Payload: Codable {
        let userID: UUID
        enum CodingKeys: String, CodingKey { case userID = "user_id" }
    }

    /// Queues the mail for the account with this address, if there is one that may sign in. Answers nothing either way.
    public static func request(email rawEmail: String, address: String?, db: Database, now: Date) async throws {
        guard let email = EmailAddress(rawEmail) else { return }
        try await db.withPlatform { tx in
            let rows = try await tx.query(
                """
                SELECT u.id FROM platform.users u
                WHERE u.email = \(email.value) AND u.disabled_at IS NULL
                  AND (EXISTS (SELECT 1 FROM platform.memberships m JOIN platform.tenants t ON t.id = m.tenant_id
                               WHERE m.user_id = u.id AND m.disabled_at IS NULL AND t.status = 'active')
                       OR EXISTS (SELECT 1 FROM platform.platform_admins a WHERE a.user_id = u.id))
                """)
            guard let userID = try await rows.decode(UUID.self).first(where: { _ in true }) else {
                try await PlatformAudit.record(AuditEvent(action: "password_reset.unknown", ip: address), at: now, in: tx)
                return
            }
            let payload = String(decoding: try JSONEncoder().encode(Payload(userID: userID)), as: UTF8.self)
            let recent = try await tx.query(
                """
                SELECT 1 FROM platform.jobs WHERE kind = \(jobKind) AND payload = \(payload)::jsonb AND created_at > \(now.addingTimeInterval(-quietPeriod))
                """
            ).decode(Int.self).first { _ in true }
            try await PlatformAudit.record(
                AuditEvent(
                    action: "password_reset.requested", actorUserID: userID, targetType: "user",
                    targetID: userID.uuidString.lowercased(), ip: address,
                    details: ["mailed": recent == nil ? "yes" : "no, one was sent in the last 15 minutes"]), at: now, in: tx)
            guard recent == nil else { return }
            _ = try await JobQueue.enqueue(kind: jobKind, payload: payload, tenantID: nil, runAt: now, maxAttempts: 5, in: tx)
        }
    }

    /// The worker's handler: issues the token when the mail is built (none is kept in the queue) and mails the link.
    public static func handlers(
        db: Database, transport: any MailTransport, publicURL: String, fallbackSender: String?, now: @escaping @Sendable () -> Date,
        logger: Logger
    ) -> [String: JobHandler] {
        let linksSafe = URL(string: publicURL).map(MailMessage.acceptsUnsubscribeURL) ?? false
        return [
            jobKind: { job in
                let payload = try UnreadableColumn.json(Payload.self, job.payload, column: "payload")
                guard linksSafe else { throw StaffInvitations.UnsafeLinks() }
                let time = now()
                let found: (StaffUser, String, Tenant?)? = try await db.withPlatform { tx in
                    guard let user = try await StaffAccounts.user(id: payload.userID, in: tx), !user.disabled else { return nil }
                    let token = try await SetupTokens.issue(userID: user.id, now: time, in: tx)
                    // The sender of the first library the person works for, else the deployment's.
                    let tenantID = try await tx.query(
                        """
                        SELECT m.tenant_id FROM platform.memberships m JOIN platform.tenants t ON t.id = m.tenant_id
                        WHERE m.user_id = \(user.id) AND m.disabled_at IS NULL AND t.status = 'active' ORDER BY m.created_at LIMIT 1
                        """
                    ).decode(UUID.self).first { _ in true }
                    let tenant = try await tenantID.asyncMap { try await TenantDirectory.find(id: $0, in: tx) } ?? nil
                    return (user, token, tenant)
                }
                guard let (user, token, tenant) = found else { return }
                let settings = try await tenant.asyncMap { tenant in try await db.withTenant(tenant) { tx in try await MailSettings.load(in: tx) } }
                guard let senderAddress = settings?.fromAddress ?? fallbackSender else {
                    logger.error("password reset not mailed: no sender address (the library's, or KRING_MAIL_FROM)")
                    return
                }
                let sender = try MailSender(
                    from: MailAddress(senderAddress, name: settings?.fromName ?? tenant?.name ?? "Kring"),
                    replyTo: settings?.replyTo.map { try MailAddress($0) })
                let name = user.displayName.trimmed()
                let text = """
                    \(name.isEmpty ? "Hallo," : "Hallo \(name),")

                    Er is gevraagd om een nieuw wachtwoord voor Kring voor \(user.email).
                    Kies hier je nieuwe wachtwoord (de link werkt één keer en is \(Int(SetupTokens.lifetime / 3600)) uur geldig):

                    \(StaffInvitations.passwordURL(token: token, publicURL: publicURL))

                    Heb je dit niet zelf gevraagd? Dan kun je deze mail negeren; je wachtwoord blijft zoals het is.
                    """
                let message = try sender.message(
                    to: MailAddress(user.email, name: user.displayName), subject: "Nieuw wachtwoord voor Kring", text: text)
                switch await transport.send(message) {
                case .sent: return
                case .temporaryFailure(let failure):
                    throw StaffInvitations.DeliveryPostponed(description: "password reset mail postponed: \(failure.stage.rawValue)")
                case .permanentFailure(let failure): logger.error("password reset mail refused", metadata: ["stage": "\(failure.stage.rawValue)"])
                }
            }
        ]
    }
}
