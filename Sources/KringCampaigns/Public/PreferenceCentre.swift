import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// The page where a customer, through the signed link in a mail, chooses lists, favourite branch and genres.
public enum PreferenceCentre {
    /// What the page shows.
    public struct View: Sendable {
        public struct ListChoice: Sendable {
            public let list: SubscriptionList
            /// The latest statement is `confirmed`.
            public let subscribed: Bool
        }

        public let customerID: UUID
        public let lists: [ListChoice]
        public let branches: [Branch]
        public let favouriteBranchID: UUID?
        public let genres: [String]
    }

    /// The choices made on the page.
    public struct Choices: Sendable {
        public var listKeys: Set<String>
        public var favouriteBranchID: UUID?
        public var genres: [String]

        public init(listKeys: Set<String>, favouriteBranchID: UUID?, genres: [String]) {
            self.listKeys = listKeys
            self.favouriteBranchID = favouriteBranchID
            self.genres = genres
        }
    }

    /// The page of `customerID`, or nil for an unknown, erased or merged customer.
    public static func view(customerID: UUID, in tx: TenantTransaction) async throws -> View? {
        let rows = try await tx.query(
            """
            SELECT favourite_branch_id, genres FROM customers WHERE id = \(customerID) AND erased_at IS NULL AND merged_into IS NULL
            """)
        var found: (UUID?, [String])?
        for try await row in rows.decode((UUID?, [String]).self) { found = row }
        guard let (branchID, genres) = found else { return nil }
        let statuses = try await SubscriptionLists.statuses(customerID: customerID, in: tx)
        let lists = try await SubscriptionLists.publicLists(in: tx).map {
            View.ListChoice(list: $0, subscribed: statuses[$0.topic] == Consent.Status.confirmed.rawValue)
        }
        return View(customerID: customerID, lists: lists, branches: try await Branches.list(in: tx), favouriteBranchID: branchID, genres: genres)
    }

    /// Applies the page: a newly ticked list is `confirmed` at once (the signed link proves control of the address),
    /// an unticked one `withdrawn`; branch and genres are stored on the customer. Answers nil for an unknown customer.
    public static func apply(_ choices: Choices, customerID: UUID, clientAddress: String?, now: Date, in tx: TenantTransaction) async throws -> View?
    {
        try await tx.query("SELECT 1 FROM customers WHERE id = \(customerID) FOR UPDATE")
        guard let before = try await view(customerID: customerID, in: tx) else { return nil }
        var errors: [FieldError] = []
        let genres = Array(Set(choices.genres.map { $0.trimmed().lowercased() }.filter { !$0.isEmpty })).sorted()
        if genres.count > 50 || genres.contains(where: { $0.count > 50 }) {
            errors.append(FieldError(field: "genres", message: "Use at most 50 genres of at most 50 characters."))
        }
        if let branch = choices.favouriteBranchID, !before.branches.contains(where: { $0.id == branch }) {
            errors.append(FieldError(field: "branch", message: "Unknown branch."))
        }
        guard errors.isEmpty else { throw CustomerError.invalid(errors) }

        let email = try await Subscriptions.address(of: customerID, in: tx)
        var evidence = ["source": "preference_centre"]
        evidence["address"] = email
        evidence["client_ip"] = clientAddress
        for choice in before.lists {
            let wanted = choices.listKeys.contains(choice.list.key)
            if wanted && !choice.subscribed {
                do {
                    _ = try await Consents.record(
                        ConsentDraft(
                            topic: choice.list.topic, status: Consent.Status.confirmed.rawValue,
                            source: Consent.Source.webForm.rawValue, textVersion: choice.list.consentVersion,
                            evidence: evidence),
                        customerID: customerID, by: .system, now: now, in: tx)
                } catch CustomerError.invalid {
                    // Under 16: a parent or guardian must consent; the page cannot prove that.
                    continue
                }
            } else if !wanted {
                try await Unsubscribes.withdraw(
                    choice.list, customerID: customerID, evidence: evidence, clientAddress: clientAddress, now: now, in: tx)
            }
        }

        var fields: [String] = []
        if choices.favouriteBranchID != before.favouriteBranchID { fields.append("favourite_branch_id") }
        if genres != before.genres.sorted() { fields.append("genres") }
        if !fields.isEmpty {
            try await tx.query(
                """
                UPDATE customers SET favourite_branch_id = \(choices.favouriteBranchID), genres = \(genres), version = version + 1, updated_at = \(now)
                WHERE id = \(customerID)
                """)
            try await TenantAudit.record(
                "customer.updated", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: .system,
                details: ["fields": fields.joined(separator: " "), "via": "preference_centre"], at: now, in: tx)
            try await Timeline.recordSystemEvent(
                "customer.updated", customerID: customerID, actor: .system,
                subject: "Changed in the preference centre: \(fields.joined(separator: ", "))", at: now, in: tx)
        }
        return try await view(customerID: customerID, in: tx)
    }

    /// "Unsubscribe from all": every list withdrawn, the address suppressed for marketing, pending marketing mail
    /// cancelled. Answers false for an unknown customer.
    public static func unsubscribeFromAll(customerID: UUID, clientAddress: String?, now: Date, in tx: TenantTransaction) async throws -> Bool {
        try await tx.query("SELECT 1 FROM customers WHERE id = \(customerID) FOR UPDATE")
        guard try await view(customerID: customerID, in: tx) != nil else { return false }
        let email = try await Subscriptions.address(of: customerID, in: tx)
        let statuses = try await SubscriptionLists.statuses(customerID: customerID, in: tx)
        // Also lists no longer offered publicly: "all" means all.
        let lists = try await SubscriptionLists.list(after: nil, limit: 10_000, in: tx).filter { statuses[$0.topic] != nil }
        for list in lists {
            try await Unsubscribes.withdraw(
                list, customerID: customerID, evidence: ["source": "preference_centre", "choice": "all"],
                clientAddress: clientAddress, now: now, in: tx)
        }
        if let email = email.flatMap(EmailAddress.init) {
            _ = try await Suppressions.suppress(
                email, reason: .unsubscribed, detail: "Afgemeld voor alles in het voorkeurencentrum", by: .system, now: now, in: tx)
        }
        try await Unsubscribes.cancelPendingMarketing(customerID: customerID, now: now, in: tx)
        try await TenantAudit.record(
            "campaign.unsubscribed", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: .system,
            details: ["via": "preference_centre", "list": "all_marketing"], at: now, in: tx)
        return true
    }
}
