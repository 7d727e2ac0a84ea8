import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// Signing up for lists from the library's website, with double opt-in: the sign-up is recorded as `opted_in`
/// and a confirmation mail is queued; the link in it records `confirmed`.
public enum Subscriptions {
    /// A sign-up from the public form.
    public struct SignUp: Sendable {
        public var email: EmailAddress
        public var firstName: String?
        public var listKeys: [String]
        /// The client's address and the form the sign-up came from, kept as evidence.
        public var clientAddress: String?
        public var form: String?

        public init(email: EmailAddress, firstName: String?, listKeys: [String], clientAddress: String?, form: String?) {
            self.email = email
            self.firstName = firstName
            self.listKeys = listKeys
            self.clientAddress = clientAddress
            self.form = form
        }
    }

    /// A new sign-up for a list that is already pending is not mailed again within this time (a form submitted
    /// twice, or someone filling in another person's address over and over).
    public static let resendInterval: TimeInterval = 3600

    /// Records the sign-up and queues a confirmation mail per list. Answers nothing: the caller must answer the same
    /// whether or not the address was known, confirmed already or suppressed (no account enumeration).
    public static func subscribe(_ signUp: SignUp, links: PublicLinks, now: Date, in tx: TenantTransaction) async throws {
        let keys = Array(Set(signUp.listKeys.map { $0.trimmed().lowercased() })).sorted()
        guard !keys.isEmpty, keys.count <= 20 else {
            throw ListError.invalid([FieldError(field: "lists", message: "Choose 1 to 20 lists.")])
        }
        let offered = try await SubscriptionLists.publicLists(in: tx).filter { keys.contains($0.key) }
        let unknown = keys.filter { key in !offered.contains { $0.key == key } }
        guard unknown.isEmpty else {
            throw ListError.unknownLists(unknown.filter { $0.range(of: "^[a-z0-9][a-z0-9._-]{0,59}$", options: .regularExpression) != nil })
        }

        let customerID = try await customer(for: signUp, now: now, in: tx)
        let statuses = try await latest(customerID: customerID, topics: offered.map(\.topic), in: tx)
        let mailable = try await Suppressions.suppressed([signUp.email.value], marketing: false, in: tx).isEmpty
        var evidence = ["address": signUp.email.value, "source": "sign_up_form"]
        evidence["client_ip"] = signUp.clientAddress
        evidence["form"] = signUp.form.map { String($0.prefix(500)) }
        for list in offered {
            let current = statuses[list.topic]
            if current?.status == .confirmed { continue }
            if current?.status == .optedIn, let at = current?.recordedAt, now.timeIntervalSince(at) < resendInterval { continue }
            let consent: Consent
            do {
                consent = try await Consents.record(
                    ConsentDraft(
                        topic: list.topic, status: Consent.Status.optedIn.rawValue, source: Consent.Source.webForm.rawValue,
                        textVersion: list.consentVersion, evidence: evidence),
                    customerID: customerID, by: .system, now: now, in: tx)
            } catch CustomerError.invalid {
                // Under 16: a parent or guardian must consent, which a public form cannot prove. Nothing is recorded.
                continue
            }
            guard mailable else { continue }
            try await TransactionalMails.queueConfirmation(
                customerID: customerID, email: signUp.email.value, consentID: consent.id, listName: list.name,
                confirmURL: links.confirm(tenant: tx.tenant.slug.value, consentID: consent.id, now: now), now: now, in: tx)
        }
    }

    /// What a confirmation link points at.
    public struct PendingSignUp: Sendable {
        public let consentID: Int64
        public let customerID: UUID
        public let list: SubscriptionList
        /// True when the list is confirmed already (a second click): nothing more to do.
        public let confirmed: Bool
        /// False when a later statement replaced the sign-up (withdrawn, or signed up again): the link is spent.
        public let current: Bool
    }

    /// The sign-up behind a confirmation link, or nil when there is none (or its list is gone).
    public static func pending(consentID: Int64, in tx: TenantTransaction) async throws -> PendingSignUp? {
        let rows = try await tx.query(
            """
            SELECT c.customer_id, c.topic, c.status FROM consents c JOIN customers k ON k.id = c.customer_id
            WHERE c.id = \(consentID) AND k.erased_at IS NULL AND k.merged_into IS NULL
            """)
        var found: (customerID: UUID, topic: String, status: String)?
        for try await row in rows.decode((UUID, String, String).self) { found = row }
        guard let (customerID, topic, status) = found, status == Consent.Status.optedIn.rawValue, topic.hasPrefix("list:") else { return nil }
        var list: SubscriptionList?
        for try await row in try await tx.query(
            "SELECT \(unescaped: SubscriptionList.columns) FROM lists WHERE key = \(String(topic.dropFirst("list:".count)))")
        {
            list = try SubscriptionList(row: row)
        }
        guard let list else { return nil }
        let latest = try await latest(customerID: customerID, topics: [topic], in: tx)[topic]
        return PendingSignUp(
            consentID: consentID, customerID: customerID, list: list, confirmed: latest?.status == .confirmed,
            current: latest?.id == consentID)
    }

    /// Records `confirmed` for the sign-up behind a confirmation link, with the address, client and time as evidence.
    /// Confirming twice changes nothing; answers whether this call confirmed.
    public static func confirm(_ signUp: PendingSignUp, clientAddress: String?, now: Date, in tx: TenantTransaction) async throws -> Bool {
        // Serialise two clicks at once on the same customer.
        try await tx.query("SELECT 1 FROM customers WHERE id = \(signUp.customerID) FOR UPDATE")
        let latest = try await latest(customerID: signUp.customerID, topics: [signUp.list.topic], in: tx)[signUp.list.topic]
        guard latest?.id == signUp.consentID else { return false }
        let email = try await address(of: signUp.customerID, in: tx)
        var evidence = ["source": "double_opt_in", "opt_in_id": String(signUp.consentID), "confirmed_at": ISO8601DateFormatter().string(from: now)]
        evidence["address"] = email
        evidence["client_ip"] = clientAddress
        _ = try await Consents.record(
            ConsentDraft(
                topic: signUp.list.topic, status: Consent.Status.confirmed.rawValue, source: Consent.Source.webForm.rawValue,
                textVersion: latest?.textVersion, evidence: evidence),
            customerID: signUp.customerID, by: .system, now: now, in: tx)
        return true
    }

    /// The customer a sign-up belongs to: by address, a member before others (never an erased or merged one), or a
    /// new visitor.
    static func customer(for signUp: SignUp, now: Date, in tx: TenantTransaction) async throws -> UUID {
        let rows = try await tx.query(
            """
            SELECT id FROM customers WHERE email = \(signUp.email.value) AND erased_at IS NULL AND merged_into IS NULL
            ORDER BY 'member' = ANY(roles) DESC, created_at, id LIMIT 1
            """)
        for try await id in rows.decode(UUID.self) { return id }
        var draft = CustomerDraft(roles: [Customer.RoleKind.visitor.rawValue])
        draft.email = signUp.email.value
        draft.firstName = signUp.firstName.map { String($0.trimmed().prefix(100)) }
        return try await Customers.create(try draft.validate(today: CalendarDate(now)), by: .system, now: now, in: tx).id
    }

    /// The customer's e-mail address, kept as evidence of a statement made through a link.
    static func address(of customerID: UUID, in tx: TenantTransaction) async throws -> String? {
        for try await email in try await tx.query("SELECT email FROM customers WHERE id = \(customerID)").decode(String?.self) { return email }
        return nil
    }

    /// The latest statement per topic of one customer.
    static func latest(customerID: UUID, topics: [String], in tx: TenantTransaction) async throws -> [String: Consent] {
        try await Consents.current(customerID: customerID, in: tx).filter { topics.contains($0.topic) }
            .reduce(into: [:]) { $0[$1.topic] = $1 }
    }
}
