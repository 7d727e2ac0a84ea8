import Foundation
import KringCore
import KringDatabase
import PostgresNIO

public enum RecipientContexts {
    /// How many upcoming activities a mail may suggest, and how far ahead.
    static let activityLimit = 3
    static let activityHorizonDays = 60

    /// Loads, in a few queries for the whole batch, what each recipient's mail needs. `sendContext` is the send row's
    /// context (string values), e.g. `["activity_id": ..., "registration_id": ...]` for an activity mail,
    /// `["confirm_url": ...]`, or `["contact_role_id": ...]` for a contact. Returns one context per input, in input
    /// order; a merged or erased customer (or a deleted contact) gets a context without personal fields. `links` is
    /// left for the caller.
    public static func load(
        _ recipients: [(recipient: Recipient, sendContext: [String: String])], library: String, now: Date,
        in tx: TenantTransaction
    ) async throws -> [RecipientContext] {
        guard !recipients.isEmpty else { return [] }
        let ids = Array(Set(recipients.compactMap(\.recipient.customerID)))
        let people = ids.isEmpty ? [:] : try await customers(ids, now: now, in: tx)
        let suggestions = ids.isEmpty ? [:] : try await upcomingActivities(ids, now: now, in: tx)
        let roleIDs = Array(
            Set(recipients.compactMap { $0.recipient.contactID == nil ? nil : $0.sendContext["contact_role_id"].flatMap(UUID.init(uuidString:)) }))
        let contactIDs = Array(Set(recipients.compactMap(\.recipient.contactID)))
        let contactPeople = contactIDs.isEmpty ? [:] : try await contacts(contactIDs, in: tx)
        let roles = roleIDs.isEmpty ? [:] : try await contactRoles(roleIDs, in: tx)
        let namedIDs = Array(Set(recipients.compactMap { $0.sendContext["activity_id"].flatMap(UUID.init(uuidString:)) }))
        let named = namedIDs.isEmpty ? [:] : try await activities(namedIDs, in: tx)
        let registrationIDs = Array(Set(recipients.compactMap { $0.sendContext["registration_id"].flatMap(UUID.init(uuidString:)) }))
        let paid = registrationIDs.isEmpty ? [:] : try await pricesPaid(registrationIDs, in: tx)
        return recipients.map { recipient in
            if let contactID = recipient.recipient.contactID {
                var contact = contactPeople[contactID] ?? [:]
                // Only a role of this contact (a preview's context is the caller's).
                let role = recipient.sendContext["contact_role_id"].flatMap(UUID.init(uuidString:)).flatMap { roles[$0] }
                    .flatMap { $0.contactID == contactID ? $0 : nil }
                if contact.isEmpty == false, let role { contact.merge(role.contact) { $1 } }
                return RecipientContext(
                    library: ["name": library], variables: recipient.sendContext, contact: contact,
                    organisation: contact.isEmpty ? [:] : role?.organisation ?? [:])
            }
            let person = recipient.recipient.customerID.flatMap { people[$0] }
            var activity = recipient.sendContext["activity_id"].flatMap(UUID.init(uuidString:)).flatMap { named[$0] }
            if let cents = recipient.sendContext["registration_id"].flatMap(UUID.init(uuidString:)).flatMap({ paid[$0] }) {
                activity?["price_paid"] = euros(cents)
            }
            return RecipientContext(
                customer: person?.fields ?? [:],
                branch: person?.branch.map { ["name": $0] } ?? [:],
                library: ["name": library],
                activities: person == nil ? [] : recipient.recipient.customerID.flatMap { suggestions[$0] } ?? [],
                activity: activity,
                variables: recipient.sendContext)
        }
    }

    // MARK: Queries

    private struct Person {
        var fields: [String: String]
        var branch: String?
    }

    private static func customers(_ ids: [UUID], now: Date, in tx: TenantTransaction) async throws -> [UUID: Person] {
        let today = CalendarDate(now).description
        let rows = try await tx.query(
            """
            SELECT c.id, c.first_name, c.infix, c.last_name, c.member_type, extract(year FROM age(\(today)::date, c.birth_date))::integer, b.name
            FROM customers c LEFT JOIN branches b ON b.id = c.favourite_branch_id
            WHERE c.id = ANY(\(ids)) AND c.merged_into IS NULL AND c.erased_at IS NULL
            """)
        var people: [UUID: Person] = [:]
        for try await (id, first, infix, last, memberType, age, branch) in rows.decode((UUID, String?, String?, String?, String?, Int?, String?).self)
        {
            let lastName = [infix, last].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            let fullName = [first ?? "", lastName].filter { !$0.isEmpty }.joined(separator: " ")
            var fields = ["first_name": first ?? "", "last_name": lastName, "full_name": fullName, "member_type": memberType ?? ""]
            if let age { fields["age"] = String(age) }
            people[id] = Person(fields: fields, branch: branch)
        }
        return people
    }

    /// `first_name`, `last_name` (with the infix), `full_name` of each contact that still exists.
    private static func contacts(_ ids: [UUID], in tx: TenantTransaction) async throws -> [UUID: [String: String]] {
        var result: [UUID: [String: String]] = [:]
        let rows = try await tx.query("SELECT id, first_name, infix, last_name FROM contacts WHERE id = ANY(\(ids))")
        for try await (id, first, infix, last) in rows.decode((UUID, String?, String?, String).self) {
            let lastName = [infix, last].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            result[id] = [
                "first_name": first ?? "", "last_name": lastName, "full_name": [first ?? "", lastName].filter { !$0.isEmpty }.joined(separator: " "),
            ]
        }
        return result
    }

    /// The role a B2B send names: the contact's `job_title` and `dmu_role`, and the organisation's `name` and
    /// `type` (the library's name for it, e.g. "Basisschool").
    private static func contactRoles(
        _ ids: [UUID], in tx: TenantTransaction
    ) async throws
        -> [UUID: (contactID: UUID, contact: [String: String], organisation: [String: String])]
    {
        var result: [UUID: (contactID: UUID, contact: [String: String], organisation: [String: String])] = [:]
        let rows = try await tx.query(
            """
            SELECT cr.id, cr.contact_id, cr.job_title, cr.dmu_role, o.name, t.name FROM contact_roles cr JOIN organisations o ON o.id = cr.organisation_id
            JOIN organisation_types t ON t.code = o.type WHERE cr.id = ANY(\(ids))
            """)
        for try await (id, contactID, jobTitle, dmuRole, name, type) in rows.decode((UUID, UUID, String?, String, String, String).self) {
            var contact = ["dmu_role": dmuRole]
            if let jobTitle, !jobTitle.isEmpty { contact["job_title"] = jobTitle }
            result[id] = (contactID, contact, ["name": name, "type": type])
        }
        return result
    }

    /// Per customer, the next activities at their favourite branch or in one of their genres.
    private static func upcomingActivities(_ ids: [UUID], now: Date, in tx: TenantTransaction) async throws -> [UUID: [[String: String]]] {
        let until = now.addingTimeInterval(TimeInterval(activityHorizonDays) * 86_400)
        let rows = try await tx.query(
            """
            SELECT c.id, a.id, a.title, a.starts_at, b.name
            FROM customers c
            CROSS JOIN LATERAL (
                SELECT a.id, a.title, a.starts_at, a.branch_id FROM activities a
                WHERE a.starts_at >= \(now) AND a.starts_at < \(until)
                  AND (a.branch_id = c.favourite_branch_id OR a.category = ANY(c.genres))
                ORDER BY a.starts_at, a.id LIMIT \(activityLimit)
            ) a
            LEFT JOIN branches b ON b.id = a.branch_id
            WHERE c.id = ANY(\(ids)) AND c.merged_into IS NULL AND c.erased_at IS NULL
            ORDER BY c.id, a.starts_at, a.id
            """)
        var result: [UUID: [[String: String]]] = [:]
        for try await (customerID, id, title, startsAt, branch) in rows.decode((UUID, UUID, String, Date, String?).self) {
            result[customerID, default: []].append(activityFields(id: id, title: title, startsAt: startsAt, branch: branch))
        }
        return result
    }

    private static func activities(_ ids: [UUID], in tx: TenantTransaction) async throws -> [UUID: [String: String]] {
        let rows = try await tx.query(
            """
            SELECT a.id, a.title, a.starts_at, b.name FROM activities a LEFT JOIN branches b ON b.id = a.branch_id WHERE a.id = ANY(\(ids))
            """)
        var result: [UUID: [String: String]] = [:]
        for try await (id, title, startsAt, branch) in rows.decode((UUID, String, Date, String?).self) {
            result[id] = activityFields(id: id, title: title, startsAt: startsAt, branch: branch)
        }
        return result
    }

    private static func pricesPaid(_ ids: [UUID], in tx: TenantTransaction) async throws -> [UUID: Int] {
        var result: [UUID: Int] = [:]
        for try await (id, cents) in try await tx.query("SELECT id, price_paid_cents FROM registrations WHERE id = ANY(\(ids))").decode(
            (UUID, Int).self)
        {
            result[id] = cents
        }
        return result
    }

    // MARK: Dutch dates and amounts

    /// "gratis", "€ 7,50", "€ 1.250,00".
    static func euros(_ cents: Int) -> String {
        guard cents > 0 else { return "gratis" }
        var grouped: [Character] = []
        for (index, digit) in String(cents / 100).reversed().enumerated() {
            if index > 0 && index % 3 == 0 { grouped.append(".") }
            grouped.append(digit)
        }
        return "€ " + String(grouped.reversed()) + "," + twoDigits(cents % 100)
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam") ?? .gmt
        return calendar
    }()
    private static let weekdays = ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"]
    private static let months = [
        "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
        "november", "december",
    ]

    /// `date` "zaterdag 12 december", `time` "14:00", `when` "zaterdag 12 december, 14:00", in the Netherlands; `branch`
    /// when the activity has one.
    public static func activityFields(id: UUID, title: String, startsAt: Date, branch: String?) -> [String: String] {
        let parts = calendar.dateComponents([.weekday, .day, .month, .hour, .minute], from: startsAt)
        let weekday = weekdays[((parts.weekday ?? 1) - 1 + 7) % 7]
        let month = months[((parts.month ?? 1) - 1 + 12) % 12]
        let date = "\(weekday) \(parts.day ?? 1) \(month)"
        let time = twoDigits(parts.hour ?? 0) + ":" + twoDigits(parts.minute ?? 0)
        var fields = ["id": id.uuidString.lowercased(), "title": title, "date": date, "time": time, "when": "\(date), \(time)"]
        // Left out rather than empty, so that `{{#activity.branch}}` tests for a branch.
        if let branch, !branch.isEmpty { fields["branch"] = branch }
        return fields
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
