import Foundation
import KringCore
import KringDatabase
import KringInsight
import KringTestSupport
import PostgresNIO
import Testing

/// The figure catalogue against a real PostgreSQL, on a library built so that every figure's value is known by hand:
/// current, suspended, new, ended and erased members, guests, consents, activities with registrations and evaluations,
/// and complaints. Also: a snapshot is stored per day and replaced when taken again that day.
@Suite("Library figures") struct LibraryFiguresTests {
    /// 2026-11-27 12:00 in the Netherlands.
    static let now = Date(timeIntervalSince1970: 1_795_777_200)

    @Test func everyFigureEqualsWhatTheLibrarysDataSays() async throws {
        let env = try await TestEnvironment.forSuite("LibraryFigures")
        let tenant = try await env.createTenant("lf")
        let today = CalendarDate(Self.now)
        func day(_ offset: Int) -> String { today.adding(days: offset).description }
        let ids = try await env.db.withTenant(tenant) { tx -> [String: UUID] in
            var ids: [String: UUID] = [:]
            func customer(
                _ key: String, roles: [String] = ["member"], type: String? = "adult", status: String? = "active", start: String? = "2020-01-01",
                end: String? = nil, email: Bool = false, address: Bool = false, loans: Int = 0, loansTotal: Int = 10, erased: Bool = false
            ) async throws {
                let id = UUID()
                ids[key] = id
                try await tx.query(
                    """
                    INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, membership_end, email,
                                           street, house_number, postcode, city, loans_12m, loans_total, last_loan_date, erased_at,
                                           created_at, updated_at)
                    VALUES (\(id), \(roles), \(roles.contains("member") ? key : nil), \(type), \(status), \(start)::date, \(end)::date,
                            \(email ? "\(key)@example.nl" : nil), \(address ? "Grote Markt" : nil), \(address ? "2" : nil),
                            \(address ? "2011 AA" : nil), \(address ? "Haarlem" : nil), \(loans), \(loansTotal),
                            \(loansTotal > 0 ? "2026-01-01" : nil)::date, \(erased ? Self.now : nil), now(), now())
                    """)
            }
            // Ten adult members since 2020: loans 0 to 9 this year; six with an e-mail address, four with a full address,
            // two who never borrowed.
            for n in 0..<10 {
                try await customer("a\(n)", email: n < 6, address: n < 4, loans: n, loansTotal: n < 2 ? 0 : 10)
            }
            for n in 0..<2 { try await customer("s\(n)", type: "youth", status: "suspended", start: "2024-06-01", loans: 3) }
            for n in 0..<3 { try await customer("n\(n)", start: day(-10)) }  // new this month
            for n in 0..<2 { try await customer("e\(n)", status: "ended", start: "2019-01-01", end: day(-5)) }  // left this month
            try await customer("old", status: "ended", start: "2019-01-01", end: day(-200))
            try await customer("gone", loans: 40, erased: true)  // erased: counts nowhere
            for n in 0..<2 { try await customer("g\(n)", roles: ["guest"], type: nil, status: nil, start: nil, email: true) }
            // Newsletter consent: three given, one withdrawn.
            for (n, status) in ["opted_in", "confirmed", "opted_in", "withdrawn"].enumerated() {
                try await tx.query(
                    """
                    INSERT INTO consents (customer_id, topic, status, recorded_at, source)
                    VALUES (\(ids["a\(n)"]!), 'newsletter:weekly', \(status), now(), 'staff')
                    """)
            }
            // Two activities this month (three and one attended), one 40 days ago.
            func activity(_ daysAgo: Double) async throws -> UUID {
                let id = UUID()
                let starts = Self.now.addingTimeInterval(-daysAgo * 86_400)
                try await tx.query(
                    """
                    INSERT INTO activities (id, title, category, starts_at, ends_at, created_at, updated_at)
                    VALUES (\(id), 'Activiteit', 'Lezing', \(starts), \(starts.addingTimeInterval(3600)), now(), now())
                    """)
                return id
            }
            func register(_ key: String, _ activity: UUID, _ status: String, paid: Int = 500, score: Int? = nil) async throws {
                let id = UUID()
                try await tx.query(
                    """
                    INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
                    VALUES (\(id), \(activity), \(ids[key]!), \(status), \(paid), 'staff', \(Self.now.addingTimeInterval(-20 * 86_400)), now())
                    """)
                if let score {
                    try await tx.query(
                        "INSERT INTO evaluations (registration_id, score, created_at) VALUES (\(id), \(score), \(Self.now.addingTimeInterval(-86_400)))"
                    )
                }
            }
            let first = try await activity(3)
            let second = try await activity(12)
            let earlier = try await activity(40)
            for key in ["a0", "a1", "g0"] { try await register(key, first, "attended", score: key == "a0" ? 8 : (key == "a1" ? 9 : nil)) }
            try await register("a2", first, "booked")
            try await register("a3", first, "cancelled")  // no revenue, no visitor
            try await register("a4", second, "attended")
            try await register("a5", earlier, "attended")  // before the window
            // Complaints: two open (one past its due date), two resolved after 2 and 4 days.
            func complaint(_ status: String, due: Double, created: Double, resolved: Double?) async throws {
                try await tx.query(
                    """
                    INSERT INTO complaints (id, customer_id, channel, category, status, due_at, created_at, updated_at, resolved_at)
                    VALUES (\(UUID()), \(ids["a6"]!), 'desk', 'Service', \(status), \(Self.now.addingTimeInterval(due * 86_400)),
                            \(Self.now.addingTimeInterval(created * 86_400)), now(), \(resolved.map { Self.now.addingTimeInterval($0 * 86_400) }))
                    """)
            }
            try await complaint("new", due: 5, created: -2, resolved: nil)
            try await complaint("in_progress", due: -1, created: -20, resolved: nil)
            try await complaint("resolved", due: 0, created: -30, resolved: -28)
            try await complaint("resolved", due: 0, created: -60, resolved: -56)
            // Mail: ten mails to a0 to a9 26 days ago and one 40 days ago; a0 bounced hard and a1 soft; a2, a3 and a4
            // opened (a2 twice), a2 clicked (two days before its booking), a3 unsubscribed, a4 complained.
            let campaign = UUID()
            try await tx.query(
                """
                INSERT INTO campaigns (id, name, kind, purpose, state, created_at, updated_at)
                VALUES (\(campaign), 'Nieuwsbrief', 'one_off', 'marketing', 'draft', now(), now())
                """)
            func mail(_ key: String, daysAgo: Double, events: [(String, Double)]) async throws {
                let send = UUID()
                let sent = Self.now.addingTimeInterval(-daysAgo * 86_400)
                try await tx.query(
                    """
                    INSERT INTO sends (id, campaign_id, customer_id, occurrence, email, status, priority, due_at, sent_at, created_at)
                    VALUES (\(send), \(campaign), \(ids[key]!), \("\(Int(daysAgo))"), \(key + "@example.nl"), 'sent', 5, \(sent), \(sent), \(sent))
                    """)
                for (kind, daysAgo) in [("sent", daysAgo)] + events {
                    try await tx.query(
                        """
                        INSERT INTO campaign_events (campaign_id, customer_id, send_id, kind, at)
                        VALUES (\(campaign), \(ids[key]!), \(send), \(kind), \(Self.now.addingTimeInterval(-daysAgo * 86_400)))
                        """)
                }
            }
            let mailEvents: [String: [(String, Double)]] = [
                "a0": [("bounced_hard", 26)], "a1": [("bounced_soft", 25)], "a2": [("opened", 23), ("opened", 22), ("clicked", 22)],
                "a3": [("opened", 24), ("unsubscribed", 24)], "a4": [("opened", 24), ("complained", 24)],
            ]
            for n in 0..<10 { try await mail("a\(n)", daysAgo: 26, events: mailEvents["a\(n)"] ?? []) }
            try await mail("a0", daysAgo: 40, events: [("opened", 39)])  // before the window
            return ids
        }
        #expect(ids.count == 21)
        let values = try await env.db.withTenant(tenant) { tx in try await LibraryFigures.measure(at: Self.now, in: tx) }
        #expect(Set(values.keys) == Set(LibraryFigures.catalogue.map(\.code)), "every figure of the catalogue is measured")
        func value(_ code: String) -> Double? { values[code]?.value }

        #expect(value("members") == 15 && values["members"]?.people == 15, "10 adults, 2 suspended, 3 new")
        #expect(value("members_youth") == 2 && value("members_adult") == 13)
        #expect(value("members_nt2") == 0 && values["members_nt2"]?.people == 0)
        let types = LibraryFigures.catalogue.filter { $0.group == "Abonnementen" }.map(\.code)
        #expect(types.count == 8 && types.reduce(0) { $0 + (value($1) ?? 0) } == 15, "every current member has one type")
        #expect(value("members_new_30d") == 3)
        #expect(value("members_lost_30d") == 2, "not the one who left 200 days ago")
        #expect(value("members_net_30d") == 1 && values["members_net_30d"]?.people == 5, "3 new, 2 lost")
        #expect(value("loans_per_member") == 3.4, "(0 + ... + 9 + 3 + 3 + 0 + 0 + 0) / 15")
        #expect(value("never_borrowed") == 13.3, "2 of 15")
        // Everyone current a year ago (the ten adults, the suspended, the three who left since) and 12 of those 15 still.
        #expect(value("retention_12m") == 80.0 && values["retention_12m"]?.people == 15)
        let years =
            (10 * Double(today.daysSince1970 - CalendarDate("2020-01-01")!.daysSince1970)
                + 2 * Double(today.daysSince1970 - CalendarDate("2024-06-01")!.daysSince1970) + 3 * 10)
            / 365.25 / 15
        #expect(value("membership_years") == (years * 10).rounded() / 10)
        // Customers: 15 current + 3 ended + 2 guests = 20; with e-mail 6 + 2 guests; full address 4; newsletter 3.
        #expect(value("with_email") == 40.0 && values["with_email"]?.people == 20)
        #expect(value("complete_address") == 20.0)
        #expect(value("newsletter_consent") == 15.0)
        #expect(value("activities_30d") == 2)
        #expect(value("visitors_30d") == 4 && values["visitors_30d"]?.people == 4)
        #expect(value("visitors_per_activity") == 2.0)
        #expect(value("ticket_revenue_30d") == 25.0, "five registrations of € 5, not the cancelled one nor the earlier activity")
        #expect(value("evaluation_score") == 8.5 && values["evaluation_score"]?.people == 2)
        #expect(value("complaints_open") == 2 && value("complaints_overdue") == 1)
        #expect(value("complaint_days") == 3.0, "the median of 2 and 4 days")
        // Mail of the last 30 days: ten sent, two bounced, three opened, one clicked and booked two days later.
        #expect(value("mails_sent_30d") == 10 && values["mails_sent_30d"]?.people == 10)
        #expect(value("mails_delivered_30d") == 8)
        #expect(value("bounce_rate_30d") == 20.0 && value("open_rate_30d") == 30.0 && value("click_rate_30d") == 10.0)
        #expect(values["open_rate_30d"]?.people == 10)
        #expect(value("unsubscribes_30d") == 1 && value("spam_complaints_30d") == 1)
        #expect(value("registrations_after_click_30d") == 1, "a2's booking 20 days ago, two days after its click")

        // A snapshot is stored for the day, and taking it again that day replaces it.
        try await LibraryFigures.snapshot(tenant, at: Self.now, db: env.db)
        try await env.db.withTenant(tenant) { tx in try await tx.query("UPDATE customers SET membership_status = 'ended' WHERE member_number = 'a9'")
        }
        try await LibraryFigures.snapshot(tenant, at: Self.now, db: env.db)
        let stored = try await env.db.withPlatform { tx in
            try await tx.query(
                "SELECT day::text, value::float8, people FROM library_figures WHERE tenant_id = \(tenant.id) AND code = 'members'"
            ).decode((String, Double, Int).self).reduce(into: [(String, Double, Int)]()) { $0.append($1) }
        }
        #expect(stored.count == 1 && stored.first?.0 == today.description && stored.first?.1 == 14 && stored.first?.2 == 14)
    }
}
