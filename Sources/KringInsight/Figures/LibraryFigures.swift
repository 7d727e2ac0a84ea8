import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// One figure of a library, defined once: its Dutch name and definition (shown on hover), how it is shown, and the SQL
/// that computes it in the library's own transaction. The SQL answers one row of two columns: the value (NULL when
/// there is nothing to compute it over) and the number of people it is computed over, so that a figure over fewer
/// than 10 people is never shown outside the library.
public struct LibraryFigure: Sendable {
    public enum Unit: String, Sendable {
        /// A whole number.
        case count
        /// A share, stored as a percentage (12.5 is 12,5%).
        case percent
        /// A number with one decimal.
        case decimal
        /// Euros, stored with cents.
        case euros
        /// Days, one decimal.
        case days
    }

    public let code: String
    public let group: String
    public let name: String
    public let definition: String
    public let unit: Unit
    /// The figure's SQL at a moment (`now`), over the library's tables.
    public let sql: @Sendable (Date) -> SQL
}

/// The catalogue of a library's figures (the CRM strategy's list: members, loans, retention, activities, customer
/// knowledge, mail, complaints), measured in one library transaction. Windows end at `now`.
public enum LibraryFigures {
    static let current = "c.merged_into IS NULL AND c.erased_at IS NULL"
    static let member = "c.merged_into IS NULL AND c.erased_at IS NULL AND c.roles @> '{member}' AND c.membership_status IN ('active', 'suspended')"

    /// The share of `condition` among `population`, as a percentage, and the population's size.
    static func share(_ condition: String, of population: String) -> SQL {
        SQL(
            unescaped: """
                SELECT round(100.0 * count(*) FILTER (WHERE \(condition)) / nullif(count(*), 0), 1), count(*) FROM customers c WHERE \(population)
                """)
    }

    public static let catalogue: [LibraryFigure] = [
        // Leden
        LibraryFigure(
            code: "members", group: "Leden", name: "Leden",
            definition: "Huidige leden: een lidmaatschap dat actief of geschorst is.", unit: .count,
            sql: { _ in SQL(unescaped: "SELECT count(*), count(*) FROM customers c WHERE \(member)") }),
        LibraryFigure(
            code: "members_new_30d", group: "Leden", name: "Nieuwe leden (30 dagen)",
            definition: "Leden van wie het lidmaatschap in de afgelopen 30 dagen begon.", unit: .count,
            sql: { now in
                """
                SELECT count(*), count(*) FROM customers c
                WHERE \(unescaped: current) AND c.roles @> '{member}'
                  AND c.membership_start > (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date - 30
                  AND c.membership_start <= (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date
                """
            }),
        LibraryFigure(
            code: "members_lost_30d", group: "Leden", name: "Vertrokken leden (30 dagen)",
            definition: "Leden van wie het lidmaatschap in de afgelopen 30 dagen eindigde.", unit: .count,
            sql: { now in
                """
                SELECT count(*), count(*) FROM customers c
                WHERE \(unescaped: current) AND c.roles @> '{member}' AND c.membership_status = 'ended'
                  AND c.membership_end > (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date - 30
                  AND c.membership_end <= (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date
                """
            }),
        LibraryFigure(
            code: "members_net_30d", group: "Leden", name: "Groei (30 dagen)",
            definition: "Nieuwe leden min vertrokken leden in de afgelopen 30 dagen.", unit: .count,
            sql: { now in
                """
                WITH window_days AS (SELECT (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date AS today)
                SELECT count(*) FILTER (WHERE c.membership_start > today - 30 AND c.membership_start <= today)
                       - count(*) FILTER (WHERE c.membership_status = 'ended' AND c.membership_end > today - 30 AND c.membership_end <= today),
                       count(*) FILTER (WHERE (c.membership_start > today - 30 AND c.membership_start <= today)
                                        OR (c.membership_status = 'ended' AND c.membership_end > today - 30 AND c.membership_end <= today))
                FROM customers c, window_days WHERE \(unescaped: current) AND c.roles @> '{member}'
                """
            }),
        LibraryFigure(
            code: "loans_per_member", group: "Leden", name: "Leningen per lid",
            definition: "Gemiddeld aantal leningen per huidig lid in de afgelopen 12 maanden.", unit: .decimal,
            sql: { _ in SQL(unescaped: "SELECT round(avg(c.loans_12m), 1), count(*) FROM customers c WHERE \(member)") }),
        LibraryFigure(
            code: "never_borrowed", group: "Leden", name: "Nooit geleend",
            definition: "Het deel van de huidige leden dat nog nooit iets leende.", unit: .percent,
            sql: { _ in share("c.loans_total = 0 AND c.last_loan_date IS NULL", of: member) }),
        LibraryFigure(
            code: "membership_years", group: "Leden", name: "Jaren lid",
            definition: "Gemiddeld aantal jaren dat de huidige leden lid zijn.", unit: .decimal,
            sql: { now in
                """
                SELECT round(avg(((\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date - c.membership_start) / 365.25), 1), count(*)
                FROM customers c WHERE \(unescaped: member) AND c.membership_start IS NOT NULL
                """
            }),
        LibraryFigure(
            code: "retention_12m", group: "Leden", name: "Behoud (12 maanden)",
            definition: "Het deel van wie een jaar geleden lid was dat nu nog lid is.", unit: .percent,
            sql: { now in
                """
                WITH a_year_ago AS (SELECT (\(now)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date - 365 AS day)
                SELECT round(100.0 * count(*) FILTER (WHERE c.membership_status IN ('active', 'suspended')) / nullif(count(*), 0), 1), count(*)
                FROM customers c, a_year_ago
                WHERE \(unescaped: current) AND c.roles @> '{member}' AND c.membership_start <= a_year_ago.day
                  AND (c.membership_end IS NULL OR c.membership_end > a_year_ago.day)
                """
            }),
        // Abonnementen
        memberType("youth", "Jeugdleden", "Huidige leden met een jeugdabonnement."),
        memberType("adult", "Volwassen leden", "Huidige leden met een abonnement voor volwassenen."),
        memberType("nt2", "NT2-leden", "Huidige leden met een NT2-abonnement (Nederlands als tweede taal)."),
        memberType("friend", "Vrienden", "Huidige leden met een vriendenabonnement."),
        memberType("library_at_home", "Bibliotheek aan huis", "Huidige leden van de Bibliotheek aan huis, die hun boeken thuis krijgen."),
        memberType("digital", "Digitale leden", "Huidige leden met een digitaal abonnement."),
        memberType("institution", "Instellingen", "Huidige leden die een instelling zijn, zoals een school of een zorginstelling."),
        memberType("other", "Overige leden", "Huidige leden met een ander abonnement, of van wie het abonnement niet bekend is."),
        // Activiteiten
        LibraryFigure(
            code: "activities_30d", group: "Activiteiten", name: "Activiteiten (30 dagen)",
            definition: "Activiteiten die in de afgelopen 30 dagen begonnen.", unit: .count,
            sql: { now in
                """
                SELECT count(*), (SELECT count(DISTINCT r.customer_id) FROM registrations r JOIN activities a ON a.id = r.activity_id
                                  WHERE r.status = 'attended' AND a.starts_at > \(now) - interval '30 days' AND a.starts_at <= \(now))
                FROM activities WHERE starts_at > \(now) - interval '30 days' AND starts_at <= \(now)
                """
            }),
        LibraryFigure(
            code: "visitors_30d", group: "Activiteiten", name: "Bezoekers (30 dagen)",
            definition: "Aanwezigen bij de activiteiten van de afgelopen 30 dagen (een persoon per activiteit).", unit: .count,
            sql: { now in
                """
                SELECT count(*), count(DISTINCT r.customer_id) FROM registrations r JOIN activities a ON a.id = r.activity_id
                WHERE r.status = 'attended' AND a.starts_at > \(now) - interval '30 days' AND a.starts_at <= \(now)
                """
            }),
        LibraryFigure(
            code: "visitors_per_activity", group: "Activiteiten", name: "Bezoekers per activiteit",
            definition: "Gemiddeld aantal aanwezigen per activiteit van de afgelopen 30 dagen.", unit: .decimal,
            sql: { now in
                """
                SELECT round(avg(n), 1), sum(n)::int8 FROM (
                    SELECT count(r.id) FILTER (WHERE r.status = 'attended') AS n FROM activities a LEFT JOIN registrations r ON r.activity_id = a.id
                    WHERE a.starts_at > \(now) - interval '30 days' AND a.starts_at <= \(now) GROUP BY a.id) per_activity
                """
            }),
        LibraryFigure(
            code: "ticket_revenue_30d", group: "Activiteiten", name: "Kaartverkoop (30 dagen)",
            definition: "Wat de aanmeldingen voor de activiteiten van de afgelopen 30 dagen betaalden (zonder annuleringen).", unit: .euros,
            sql: { now in
                """
                SELECT round(coalesce(sum(r.price_paid_cents), 0) / 100.0, 2), count(DISTINCT r.customer_id)
                FROM registrations r JOIN activities a ON a.id = r.activity_id
                WHERE r.status IN ('booked', 'attended', 'no_show') AND a.starts_at > \(now) - interval '30 days' AND a.starts_at <= \(now)
                """
            }),
        LibraryFigure(
            code: "evaluation_score", group: "Activiteiten", name: "Waardering",
            definition: "Het gemiddelde cijfer (1 tot 10) in de evaluaties van de afgelopen 12 maanden.", unit: .decimal,
            sql: { now in
                """
                SELECT round(avg(score), 1), count(*) FROM evaluations WHERE created_at > \(now) - interval '365 days' AND created_at <= \(now)
                """
            }),
        // Klantkennis
        LibraryFigure(
            code: "with_email", group: "Klantkennis", name: "Met e-mailadres",
            definition: "Het deel van de klanten (leden, gasten en bezoekers) van wie de bibliotheek een e-mailadres heeft.", unit: .percent,
            sql: { _ in share("c.email IS NOT NULL", of: current) }),
        LibraryFigure(
            code: "newsletter_consent", group: "Klantkennis", name: "Toestemming nieuwsbrief",
            definition: "Het deel van de klanten dat toestemming gaf voor ten minste één nieuwsbrief (de laatste verklaring telt).",
            unit: .percent,
            sql: { _ in
                share(
                    "EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.topic LIKE 'newsletter:%' AND s.status IN ('opted_in', 'confirmed'))",
                    of: current)
            }),
        LibraryFigure(
            code: "complete_address", group: "Klantkennis", name: "Volledig adres",
            definition: "Het deel van de klanten met straat, huisnummer, postcode en plaats.", unit: .percent,
            sql: { _ in
                share("c.street IS NOT NULL AND c.house_number IS NOT NULL AND c.postcode IS NOT NULL AND c.city IS NOT NULL", of: current)
            }),
        // Mail
        events(
            "mails_sent_30d", kind: "sent", name: "Verstuurde mails (30 dagen)",
            definition: "Mails die de mailserver in de afgelopen 30 dagen aannam."),
        LibraryFigure(
            code: "mails_delivered_30d", group: "Mail", name: "Bezorgde mails (30 dagen)",
            definition: "Mails van de afgelopen 30 dagen die de mailserver aannam en die niet als onbestelbaar terugkwamen.", unit: .count,
            sql: { now in
                """
                SELECT count(*), count(DISTINCT coalesce(s.customer_id, s.contact_id)) FROM campaign_events s
                WHERE s.kind = 'sent' AND s.at > \(now) - interval '30 days' AND s.at <= \(now)
                  AND NOT EXISTS (SELECT 1 FROM campaign_events e WHERE e.send_id = s.send_id AND e.kind IN ('bounced_hard', 'bounced_soft'))
                """
            }),
        rate(
            "bounce_rate_30d", name: "Bounces", kinds: "'bounced_hard', 'bounced_soft'",
            definition: "Het deel van de mails van de afgelopen 30 dagen dat niet bezorgd kon worden."),
        rate(
            "open_rate_30d", name: "Unieke opens", kinds: "'opened'",
            definition: "Het deel van de mails van de afgelopen 30 dagen dat ten minste één keer geopend werd."),
        rate(
            "click_rate_30d", name: "Unieke kliks", kinds: "'clicked'",
            definition: "Het deel van de mails van de afgelopen 30 dagen waarin ten minste één keer op een link geklikt werd."),
        events(
            "unsubscribes_30d", kind: "unsubscribed", name: "Afmeldingen (30 dagen)",
            definition: "Afmeldingen via de link in een mail in de afgelopen 30 dagen."),
        events(
            "spam_complaints_30d", kind: "complained", name: "Spamklachten (30 dagen)",
            definition: "Ontvangers die een mail van de afgelopen 30 dagen als spam meldden."),
        LibraryFigure(
            code: "registrations_after_click_30d", group: "Mail", name: "Aanmeldingen na een klik (30 dagen)",
            definition:
                "Aanmeldingen voor een activiteit in de afgelopen 30 dagen van iemand die in de 14 dagen ervoor op een link in een mail klikte.",
            unit: .count,
            sql: { now in
                """
                SELECT count(*), count(DISTINCT r.customer_id) FROM registrations r
                WHERE r.status IN ('booked', 'attended', 'no_show') AND r.registered_at > \(now) - interval '30 days' AND r.registered_at <= \(now)
                  AND EXISTS (SELECT 1 FROM campaign_events e WHERE e.customer_id = r.customer_id AND e.kind = 'clicked'
                              AND e.at <= r.registered_at AND e.at > r.registered_at - interval '14 days')
                """
            }),
        // Klachten
        LibraryFigure(
            code: "complaints_open", group: "Klachten", name: "Open klachten", definition: "Klachten die nog niet zijn afgehandeld.",
            unit: .count,
            sql: { _ in SQL(unescaped: "SELECT count(*), count(DISTINCT customer_id) FROM complaints WHERE status <> 'resolved'") }),
        LibraryFigure(
            code: "complaints_overdue", group: "Klachten", name: "Te late klachten",
            definition: "Open klachten van wie de afhandeltermijn verstreken is.", unit: .count,
            sql: { now in "SELECT count(*), count(DISTINCT customer_id) FROM complaints WHERE status <> 'resolved' AND due_at < \(now)" }),
        LibraryFigure(
            code: "complaint_days", group: "Klachten", name: "Afhandeltijd klachten",
            definition: "De mediaan van het aantal dagen tussen melding en afhandeling, voor klachten afgehandeld in de afgelopen 12 maanden.",
            unit: .days,
            sql: { now in
                """
                SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at) / 86400))::numeric, 1),
                       count(DISTINCT customer_id)
                FROM complaints WHERE status = 'resolved' AND resolved_at > \(now) - interval '365 days' AND resolved_at <= \(now)
                """
            }),
    ]

    /// Current members with one type of subscription (`other` also counts members whose type is not known).
    static func memberType(_ type: String, _ name: String, _ definition: String) -> LibraryFigure {
        let condition = type == "other" ? "(c.member_type = 'other' OR c.member_type IS NULL)" : "c.member_type = '\(type)'"
        let code = type == "library_at_home" ? "members_at_home" : "members_\(type)"
        return LibraryFigure(
            code: code, group: "Abonnementen", name: name, definition: definition, unit: .count,
            sql: { _ in SQL(unescaped: "SELECT count(*), count(*) FROM customers c WHERE \(member) AND \(condition)") })
    }

    /// The mail events of `kind` in the last 30 days, over the people they concern.
    static func events(_ code: String, kind: String, name: String, definition: String) -> LibraryFigure {
        LibraryFigure(
            code: code, group: "Mail", name: name, definition: definition, unit: .count,
            sql: { now in
                """
                SELECT count(*), count(DISTINCT coalesce(customer_id, contact_id)) FROM campaign_events
                WHERE kind = \(kind) AND at > \(now) - interval '30 days' AND at <= \(now)
                """
            })
    }

    /// A share of the mails sent in the last 30 days that have an event of `kinds`.
    static func rate(_ code: String, name: String, kinds: String, definition: String) -> LibraryFigure {
        LibraryFigure(
            code: code, group: "Mail", name: "\(name) (30 dagen)", definition: definition, unit: .percent,
            sql: { now in
                """
                SELECT round(100.0 * count(*) FILTER (WHERE EXISTS (SELECT 1 FROM campaign_events e WHERE e.send_id = s.send_id
                                                                   AND e.kind IN (\(unescaped: kinds))))
                             / nullif(count(*), 0), 1),
                       count(DISTINCT coalesce(s.customer_id, s.contact_id))
                FROM campaign_events s
                WHERE s.kind = 'sent' AND s.send_id IS NOT NULL AND s.at > \(now) - interval '30 days' AND s.at <= \(now)
                """
            })
    }

    /// The figures' groups in the catalogue's order (Leden, Activiteiten, ...).
    public static let groups: [String] = catalogue.reduce(into: []) { groups, figure in
        if !groups.contains(figure.group) { groups.append(figure.group) }
    }

    /// One measured figure.
    public struct Value: Sendable, Equatable {
        public let value: Double?
        public let people: Int

        public init(value: Double?, people: Int) {
            self.value = value
            self.people = people
        }
    }

    /// Every figure of the catalogue at `now`, in the library's transaction.
    public static func measure(at now: Date, in tx: TenantTransaction) async throws -> [String: Value] {
        var values: [String: Value] = [:]
        for figure in catalogue {
            let statement: SQL = "SELECT f.value::float8, f.people::int8 FROM (\(figure.sql(now))) AS f (value, people)"
            let rows = try await tx.query(statement.query)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                let number = try cells[0].decode(Double?.self)
                let people = try cells[1].decode(Int?.self) ?? 0
                values[figure.code] = Value(value: number, people: people)
            }
        }
        return values
    }

    /// Stores the figures of `day` (the Dutch calendar day of `now`) for one library: measured in its own transaction,
    /// written in the platform's. Running it again the same day replaces that day's figures.
    public static func snapshot(_ tenant: Tenant, at now: Date, db: Database) async throws {
        let values = try await db.withTenant(tenant) { tx in try await measure(at: now, in: tx) }
        try await store(values, tenant: tenant, day: CalendarDate(now), db: db)
    }

    static func store(_ values: [String: Value], tenant: Tenant, day: CalendarDate, db: Database) async throws {
        let codes = values.keys.sorted()
        let numbers = codes.map { values[$0]?.value ?? 0 }
        let defined = codes.map { values[$0]?.value != nil }
        let people = codes.map { values[$0]?.people ?? 0 }
        try await db.withPlatform { tx in
            try await tx.query(
                """
                INSERT INTO library_figures (tenant_id, day, code, value, people)
                SELECT \(tenant.id), \(day.description)::date, code, CASE WHEN defined THEN value END, people
                FROM unnest(\(codes)::text[], \(numbers)::float8[], \(defined)::bool[], \(people)::int[]) AS f (code, value, defined, people)
                ON CONFLICT (tenant_id, code, day) DO UPDATE SET value = excluded.value, people = excluded.people
                """)
        }
    }

    /// The stored figures of one library from `since` on, per code in day order (a library's own trend lines).
    public static func history(_ tenant: Tenant, since: CalendarDate, db: Database) async throws -> [String: [(day: CalendarDate, value: Value)]] {
        var lines: [String: [(day: CalendarDate, value: Value)]] = [:]
        try await db.withPlatform { tx in
            let rows = try await tx.query(
                """
                SELECT code, day::text, value::float8, coalesce(people, 0) FROM library_figures
                WHERE tenant_id = \(tenant.id) AND day >= \(since.description)::date ORDER BY code, day
                """)
            for try await (code, day, value, people) in rows.decode((String, String, Double?, Int).self) {
                guard let date = CalendarDate(day) else { continue }
                lines[code, default: []].append((date, Value(value: value, people: people)))
            }
        }
        return lines
    }

    /// Demo data only: 13 months of made-up daily figures before today, drifting towards today's measured values with
    /// some seasonal sway and noise (deterministic per library), so a new demo's trend lines are not flat. Nothing is
    /// written when the library has any figure before today.
    public static func demoHistory(_ tenant: Tenant, at now: Date, days: Int = 396, db: Database) async throws -> Int {
        let today = CalendarDate(now)
        let earlier = try await db.withPlatform { tx in
            try await tx.query("SELECT count(*)::int8 FROM library_figures WHERE tenant_id = \(tenant.id) AND day < \(today.description)::date")
                .decode(Int.self).first { _ in true } ?? 0
        }
        guard earlier == 0 else { return 0 }
        let current = try await db.withTenant(tenant) { tx in try await measure(at: now, in: tx) }
        var seed = tenant.slug.value.unicodeScalars.reduce(UInt64(7)) { $0 &* 31 &+ UInt64($1.value) } | 1
        func noise() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 33) / Double(UInt64(1) << 31) - 0.5
        }
        var written = 0
        for back in stride(from: days, through: 1, by: -1) {
            let day = today.adding(days: -back)
            var values: [String: Value] = [:]
            for figure in catalogue {
                guard let now = current[figure.code] else { continue }
                // A year ago about 4% lower for counts, a little lower for shares; a sway over the year; noise.
                let trend = 1 - 0.04 * Double(back) / Double(days)
                let sway = 1 + 0.03 * sin(Double(back) / 365 * 2 * .pi)
                let factor = trend * sway * (1 + 0.02 * noise())
                let value = now.value.map { value -> Double in
                    switch figure.unit {
                    case .count: return (value * factor).rounded()
                    case .percent: return min(100, (value * factor * 10).rounded() / 10)
                    case .decimal, .days: return (value * factor * 10).rounded() / 10
                    case .euros: return (value * factor * 100).rounded() / 100
                    }
                }
                values[figure.code] = Value(value: value, people: Int((Double(now.people) * trend).rounded()))
            }
            try await store(values, tenant: tenant, day: day, db: db)
            written += 1
        }
        return written
    }

    /// Snapshots every active library; a library that fails is reported and the others still run.
    public static func snapshotAll(at now: Date, db: Database) async throws -> (done: Int, failed: [String]) {
        let tenants = try await db.withPlatform { tx in try await TenantDirectory.list(in: tx) }.filter { $0.status == .active }
        var failed: [String] = []
        for tenant in tenants {
            do { try await snapshot(tenant, at: now, db: db) } catch { failed.append(tenant.slug.value) }
        }
        return (tenants.count - failed.count, failed)
    }
}
