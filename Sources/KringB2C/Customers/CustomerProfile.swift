import Crypto
import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The 360 view of one customer: profile, household, consents in force and the latest timeline.
public struct CustomerProfile: Sendable, Codable {
    public struct HouseholdMember: Sendable, Codable, Equatable {
        public let id: UUID
        public let name: String
        public let memberType: String?
        public let relation: String
    }

    public let customer: Customer
    public let household: [HouseholdMember]
    public let consents: [Consent]
    public let registrations: [Registration]
    public let openComplaints: [Complaint]
    public let timeline: [ContactMoment]
}

/// Everything Kring holds about one customer, for a GDPR (AVG art. 15/20) request.
public struct CustomerExport: Sendable, Codable {
    public let exportedAt: Date
    public let customer: Customer
    public let household: [CustomerProfile.HouseholdMember]
    public let consentHistory: [Consent]
    public let registrations: [Registration]
    public let complaints: [Complaint]
    public let timeline: [ContactMoment]
}

public enum CustomerPrivacy {
    public static func profile(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> CustomerProfile {
        let customer = try await Customers.read(id: id, by: actor, now: now, in: tx)
        return CustomerProfile(
            customer: customer,
            household: try await household(of: customer, in: tx),
            consents: try await Consents.current(customerID: id, in: tx),
            registrations: try await Activities.registrations(customerID: id, limit: 10, in: tx),
            openComplaints: try await tx.rows(ProfileStatements.OpenComplaints(latest: .init(id: id, limit: 20))).map(Complaint.init(row:)),
            timeline: try await tx.rows(ProfileStatements.Timeline(latest: .init(id: id, limit: 10))).map(ContactMoment.init(row:)))
    }

    static func household(of customer: Customer, in tx: TenantTransaction) async throws -> [CustomerProfile.HouseholdMember] {
        let rows = try await tx.rows(ProfileStatements.Household(customer: customer))
        var members: [CustomerProfile.HouseholdMember] = []
        for row in rows {
            let (id, name, type, relation) = try row.decode((UUID, String, String?, String).self)
            members.append(.init(id: id, name: name, memberType: type, relation: relation))
        }
        return members
    }

    /// Links a parent or guardian to a youth member of the same library.
    public static func linkParent(_ parentID: UUID, child childID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        guard parentID != childID else {
            throw CustomerError.invalid([FieldError(field: "parent_id", message: "A customer is not their own parent.")])
        }
        _ = try await Customers.require(id: parentID, forUpdate: false, in: tx)
        _ = try await Customers.require(id: childID, forUpdate: false, in: tx)
        try await tx.query(
            """
            INSERT INTO household_links (parent_id, child_id, created_at) VALUES (\(parentID), \(childID), \(now))
            ON CONFLICT DO NOTHING
            """)
        try await TenantAudit.record(
            "household.linked", subjectType: "customer", subjectID: childID.uuidString.lowercased(), by: actor,
            details: ["parent": parentID.uuidString.lowercased()], at: now, in: tx)
    }

    public static func export(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> CustomerExport {
        let customer = try await Customers.require(id: id, forUpdate: false, in: tx)
        let rows = try await tx.query(
            """
            SELECT \(unescaped: ContactMoment.columns) FROM contact_moments WHERE customer_id = \(id) ORDER BY occurred_at, id
            """)
        var timeline: [ContactMoment] = []
        for try await row in rows { timeline.append(try ContactMoment(row: row)) }
        let export = CustomerExport(
            exportedAt: now, customer: customer, household: try await household(of: customer, in: tx),
            consentHistory: try await Consents.history(customerID: id, in: tx),
            registrations: try await Activities.registrations(customerID: id, limit: 10_000, in: tx),
            complaints: try await Complaints.list(openOnly: false, customerID: id, after: nil, limit: 10_000, in: tx),
            timeline: timeline)
        try await TenantAudit.record("customer.exported", subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return export
    }

    /// SHA-256 of a canonical e-mail address, as kept on the suppression list.
    public static func emailHash(_ email: String) -> Data {
        // NFC first, so a decomposed "zoë" (e + combining diaeresis) hashes as the composed one.
        Data(SHA256.hash(data: Data(email.precomposedStringWithCanonicalMapping.lowercased().utf8)))
    }

    /// SHA-256 of a member number, as kept for erased customers.
    public static func memberNumberHash(_ number: String) -> Data {
        Data(SHA256.hash(data: Data(number.utf8)))
    }

    /// Erases a customer's personal data in place (AVG art. 17). Kept: the row and its id (so aggregates and
    /// registrations still count), member type, municipality, favourite branch and loan counts. The e-mail
    /// address stays only as a hash on the suppression list, so the person is never mailed again, and the member
    /// number only as a hash, so that no import brings the person back.
    public static func erase(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        let customer = try await Customers.require(id: id, forUpdate: true, in: tx)
        if customer.erasedAt != nil { return }
        if let email = customer.email {
            try await tx.query(
                """
                INSERT INTO suppressions (email_sha256, reason, created_at) VALUES (\(emailHash(email)), 'erased', \(now))
                ON CONFLICT (email_sha256) DO NOTHING
                """)
        }
        if let number = customer.memberNumber {
            try await tx.query(
                """
                INSERT INTO erased_member_numbers (member_number_sha256, erased_at) VALUES (\(memberNumberHash(number)), \(now))
                ON CONFLICT (member_number_sha256) DO NOTHING
                """)
        }
        try await tx.query(
            """
            UPDATE customers SET
                version = version + 1, member_number = NULL, first_name = NULL, infix = NULL, last_name = NULL, birth_date = NULL,
                email = NULL, phone = NULL, postcode = NULL, house_number = NULL, house_number_addition = NULL, street = NULL, city = NULL,
                preferred_language = NULL, notes = NULL, tags = '{}', household_id = NULL, end_reason = NULL,
                erased_at = \(now), updated_at = \(now)
            WHERE id = \(id)
            """)
        try await tx.query("DELETE FROM household_links WHERE parent_id = \(id) OR child_id = \(id)")
        if let household = customer.householdID {
            try await tx.query(
                """
                DELETE FROM households h WHERE h.id = \(household) AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.household_id = h.id)
                """)
        }
        // Free text may name the person; the fact that contact took place stays.
        try await tx.query("UPDATE contact_moments SET subject = NULL, body = NULL WHERE customer_id = \(id)")
        try await tx.query("UPDATE consents SET evidence = '{}' WHERE customer_id = \(id)")
        try await tx.query("UPDATE complaints SET description = NULL, resolution = NULL WHERE customer_id = \(id)")
        try await tx.query("UPDATE evaluations SET comment = NULL WHERE registration_id IN (SELECT id FROM registrations WHERE customer_id = \(id))")
        // The mails sent to the person keep their count in a campaign's report, not the address (nor a relay's reply,
        // which quotes it); mails still waiting are cancelled.
        try await tx.query(
            """
            UPDATE sends SET email = '', last_error = NULL, context = '{}',
                   status = CASE WHEN status IN ('pending', 'sending') THEN 'cancelled' ELSE status END
            WHERE customer_id = \(id)
            """)
        try await tx.query("UPDATE campaign_events SET detail = '{}', url = NULL WHERE customer_id = \(id) AND (detail <> '{}' OR url IS NOT NULL)")
        try await TenantAudit.record("customer.erased", subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        try await Timeline.recordSystemEvent("customer.erased", customerID: id, actor: actor, at: now, in: tx)
    }

    /// Merges `duplicateID` into `survivorID`: the survivor keeps its values and takes the duplicate's where its own are
    /// empty; both histories (consents, timeline, household links) move to the survivor, so the most recent consent
    /// statement per topic, whichever record it came from, is what holds. The duplicate stays as a pointer.
    public static func merge(survivorID: UUID, duplicateID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Customer
    {
        guard survivorID != duplicateID else { throw CustomerError.cannotMergeWithItself }
        // Lock both in id order, so two opposite merges cannot deadlock.
        var locked: [UUID: Customer] = [:]
        for id in [survivorID, duplicateID].sorted(by: { $0.uuidString < $1.uuidString }) {
            locked[id] = try await Customers.require(id: id, forUpdate: true, in: tx)
        }
        guard let duplicate = locked[duplicateID], let survivor = locked[survivorID] else { throw CustomerError.notFound }
        if survivor.erasedAt != nil || duplicate.erasedAt != nil { throw CustomerError.erased }

        // The duplicate's member number must be released before the survivor can take it.
        try await tx.query("UPDATE customers SET member_number = NULL WHERE id = \(duplicateID)")
        try await tx.query(
            """
            UPDATE customers s SET
                version = s.version + 1,
                roles = ARRAY(SELECT DISTINCT unnest(s.roles || d.roles) ORDER BY 1),
                member_number = coalesce(s.member_number, \(duplicate.memberNumber)),
                member_type = coalesce(s.member_type, d.member_type), membership_status = coalesce(s.membership_status, d.membership_status),
                membership_start = least(s.membership_start, d.membership_start), membership_end = coalesce(s.membership_end, d.membership_end),
                first_name = coalesce(s.first_name, d.first_name), infix = coalesce(s.infix, d.infix), last_name = coalesce(s.last_name, d.last_name),
                birth_date = coalesce(s.birth_date, d.birth_date), email = coalesce(s.email, d.email), phone = coalesce(s.phone, d.phone),
                postcode = coalesce(s.postcode, d.postcode), house_number = coalesce(s.house_number, d.house_number),
                house_number_addition = coalesce(s.house_number_addition, d.house_number_addition), street = coalesce(s.street, d.street),
                city = coalesce(s.city, d.city), municipality = coalesce(s.municipality, d.municipality),
                preferred_language = coalesce(s.preferred_language, d.preferred_language),
                favourite_branch_id = coalesce(s.favourite_branch_id, d.favourite_branch_id),
                genres = ARRAY(SELECT DISTINCT unnest(s.genres || d.genres) ORDER BY 1),
                tags = ARRAY(SELECT DISTINCT unnest(s.tags || d.tags) ORDER BY 1),
                notes = nullif(concat_ws(E'\\n', s.notes, d.notes), ''),
                household_id = coalesce(s.household_id, d.household_id),
                last_loan_date = greatest(s.last_loan_date, d.last_loan_date),
                loans_12m = s.loans_12m + d.loans_12m, loans_total = s.loans_total + d.loans_total,
                updated_at = \(now)
            FROM customers d
            WHERE s.id = \(survivorID) AND d.id = \(duplicateID)
            """)
        try await tx.query("UPDATE consents SET customer_id = \(survivorID) WHERE customer_id = \(duplicateID)")
        try await tx.query("UPDATE contact_moments SET customer_id = \(survivorID) WHERE customer_id = \(duplicateID)")
        try await tx.query("UPDATE complaints SET customer_id = \(survivorID) WHERE customer_id = \(duplicateID)")
        // Where both were registered for one activity, the survivor's registration stands.
        try await tx.query(
            """
            UPDATE registrations d SET customer_id = \(survivorID)
            WHERE d.customer_id = \(duplicateID)
              AND NOT EXISTS (SELECT 1 FROM registrations s WHERE s.customer_id = \(survivorID) AND s.activity_id = d.activity_id)
            """)
        try await tx.query(
            """
            INSERT INTO household_links (parent_id, child_id, created_at)
            SELECT CASE WHEN parent_id = \(duplicateID) THEN \(survivorID) ELSE parent_id END,
                   CASE WHEN child_id = \(duplicateID) THEN \(survivorID) ELSE child_id END, created_at
            FROM household_links WHERE (parent_id = \(duplicateID) OR child_id = \(duplicateID))
              AND parent_id <> child_id
              AND NOT (parent_id = \(survivorID) OR child_id = \(survivorID))
            ON CONFLICT DO NOTHING
            """)
        try await tx.query("DELETE FROM household_links WHERE parent_id = \(duplicateID) OR child_id = \(duplicateID)")
        try await tx.query("UPDATE customers SET merged_into = \(survivorID), version = version + 1, updated_at = \(now) WHERE id = \(duplicateID)")
        try await TenantAudit.record(
            "customer.merged", subjectType: "customer", subjectID: survivorID.uuidString.lowercased(), by: actor,
            details: ["duplicate": duplicateID.uuidString.lowercased()], at: now, in: tx)
        try await Timeline.recordSystemEvent(
            "customer.merged", customerID: survivorID, actor: actor,
            subject: "Merged with \(duplicateID.uuidString.lowercased())", at: now, in: tx)
        return try await Customers.require(id: survivorID, forUpdate: false, in: tx)
    }
}
