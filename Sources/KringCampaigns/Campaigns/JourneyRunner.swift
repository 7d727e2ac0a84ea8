import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Evaluates a journey's trigger and queues its steps for each new occurrence, in one statement per journey.
///
/// The unique key of `sends` (campaign, customer, occurrence, step) makes every run idempotent: an occurrence
/// found again tomorrow (a reminder window, a win-back that still holds) is not mailed again.
enum JourneyRunner {
    /// Mails of a day's occurrences go out from this hour (Dutch time), not at midnight.
    static let sendingHour = 9

    static func run(_ campaign: Campaign, now: Date, in tx: TenantTransaction) async throws -> Int {
        guard let journey = campaign.journey, !journey.steps.isEmpty else { return 0 }
        let today = CalendarDate(now)
        var audience: SQL = "TRUE"
        if let rule = journey.audience {
            audience = try SegmentCompiler(today: today).compile(rule).predicate
        }
        let base = Snapshot.audienceCondition(campaign, listKey: try await Snapshot.listKey(campaign, in: tx))
        let day: SQL = "\(today.description)"
        let occurrences: SQL
        switch journey.trigger {
        case .welcome:
            let since: SQL = "\(CalendarDate(campaign.startedAt ?? now).description)"
            occurrences = """
                SELECT c.id AS customer_id, c.email, c.membership_start::text AS occurrence, '{}'::jsonb AS context FROM customers c
                WHERE c.membership_status = 'active' AND c.membership_start BETWEEN \(day)::date - 7 AND \(day)::date
                  AND c.membership_start >= \(since)::date
                """
        case .birthday:
            // 29 February birthdays are celebrated on 28 February in common years.
            occurrences = """
                SELECT c.id AS customer_id, c.email, extract(year FROM \(day)::date)::text AS occurrence, '{}'::jsonb AS context FROM customers c
                WHERE c.birth_date IS NOT NULL AND to_char(c.birth_date, 'MM-DD') = to_char(\(day)::date, 'MM-DD')
                   OR (to_char(c.birth_date, 'MM-DD') = '02-29' AND to_char(\(day)::date, 'MM-DD') = '02-28'
                       AND NOT (extract(year FROM \(day)::date)::int % 4 = 0 AND (extract(year FROM \(day)::date)::int % 100 <> 0
                                OR extract(year FROM \(day)::date)::int % 400 = 0)))
                """
        case .activityReminder, .thirdHalf, .noShow:
            let status = journey.trigger == .activityReminder ? "booked" : journey.trigger == .thirdHalf ? "attended" : "no_show"
            let target: SQL = "\(day)::date \(unescaped: journey.trigger == .activityReminder ? "+" : "-") \(journey.effectiveDays)::int"
            let column: SQL = journey.trigger == .activityReminder ? "a.starts_at" : "a.ends_at"
            // A window of whole Dutch days, so the index on starts_at is used. The registration names the evaluation link.
            occurrences = """
                SELECT c.id AS customer_id, c.email, a.id::text AS occurrence, jsonb_build_object('activity_id', a.id, 'registration_id', r.id) AS context
                FROM activities a JOIN registrations r ON r.activity_id = a.id AND r.status = \(status) JOIN customers c ON c.id = r.customer_id
                WHERE \(column) >= ((\(target))::timestamp AT TIME ZONE 'Europe/Amsterdam')
                  AND \(column) < (((\(target)) + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam')
                """
        case .loyalty:
            occurrences = """
                SELECT c.id AS customer_id, c.email, \(journey.effectiveYears)::text AS occurrence, '{}'::jsonb AS context FROM customers c
                WHERE c.membership_status = 'active' AND c.membership_start = (\(day)::date - make_interval(years => \(journey.effectiveYears)::int))::date
                """
        case .winback:
            let cutoff: SQL = "(\(day)::date - make_interval(months => \(journey.effectiveMonths)::int))::date"
            occurrences = """
                SELECT c.id AS customer_id, c.email, coalesce(c.last_loan_date::text, 'never') AS occurrence, '{}'::jsonb AS context FROM customers c
                WHERE c.membership_status = 'active' AND coalesce(c.last_loan_date, c.membership_start) <= \(cutoff)
                """
        case .membershipEnding:
            occurrences = """
                SELECT c.id AS customer_id, c.email, c.membership_end::text AS occurrence, '{}'::jsonb AS context FROM customers c
                WHERE c.membership_end = \(day)::date + \(journey.effectiveDays)::int AND c.membership_status = 'active'
                """
        }
        // The first mail goes at the sending hour of today (or now, when later); each step after its wait.
        let start = max(now, Self.dutchTime(today, hour: sendingHour))
        var steps: [SQL] = []
        var wait = 0
        for (index, step) in journey.steps.enumerated() {
            wait += step.waitDays
            steps.append("(\(unescaped: String(index)), \(start.addingTimeInterval(TimeInterval(wait) * 86_400)))")
        }
        let inserted = try await tx.query(
            sql: """
                WITH found AS (
                    SELECT DISTINCT ON (o.customer_id, o.occurrence) o.* FROM (\(occurrences)) o
                    JOIN customers c ON c.id = o.customer_id
                    WHERE \(base) AND (\(audience))
                )
                INSERT INTO sends (id, campaign_id, customer_id, occurrence, step, email, status, priority, due_at, context, created_at)
                SELECT gen_random_uuid(), \(campaign.id), f.customer_id, f.occurrence, s.step, f.email, 'pending', \(campaign.priority), s.due, f.context, \(now)
                FROM found f CROSS JOIN (VALUES \(steps.joined(separator: ", "))) AS s (step, due)
                ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
                RETURNING 1
                """)
        var count = 0
        for try await _ in inserted { count += 1 }
        return count
    }

    static func dutchTime(_ day: CalendarDate, hour: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam") ?? .gmt
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: hour)) ?? Date()
    }
}
