import ArgumentParser
import Foundation
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import Logging
import PostgresNIO

/// `kring bench segment --customers N`: N synthetic customers (with consents, activities and registrations) in a
/// scratch tenant, then a nested rule of seven conditions counted through the compiler against the same count
/// written by hand, alternately, and the medians compared.
struct SegmentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "segment", abstract: "Time a compiled segment count against hand-written SQL.")
    @Option var customers = 1_000_000
    @Option(help: "Timed runs of each query.") var runs = 15
    @Flag(help: "Print PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of both queries.") var explain = false
    @Flag(help: "Keep the scratch library afterwards, to study the queries in psql.") var keep = false

    @Option(
        help: """
            Fill this existing library of the database KRING_OWNER_DATABASE_URL names instead of a scratch database \
            (Deploy/bench-segment.sh then times the preview route of a server on it).
            """)
    var tenant: String?
    @Option(help: "Write the rule as JSON to this file, to time the preview route with the same rule.") var ruleFile: String?

    func run() async throws {
        let env = Environment()
        let now = Date()
        if let tenant {
            guard let slug = TenantSlug(tenant) else { throw ValidationError("not a library slug: \(tenant)") }
            try await env.withOwner { owner in
                guard let found = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) }) else {
                    throw ValidationError("no library \(tenant) in the database KRING_OWNER_DATABASE_URL names")
                }
                try await measure(tenant: found, owner: owner, now: now)
            }
            return
        }
        let slug = TenantSlug("bench-\(UInt32.random(in: 0...UInt32.max) % 1_000_000)")!
        try await Bench.withScratchDatabase(env, keep: keep) { owner in
            let tenant = try await owner.withPlatform { tx in
                try await TenantProvisioner.loaded(owner: owner)
                    .create(slug: slug, name: "Benchmark", now: now, in: tx)
            }
            try await measure(tenant: tenant, owner: owner, now: now)
            if keep { print("kept scratch library \(tenant.slug) (schema \(tenant.slug.schema.quoted))") }
        }
    }

    /// Generates the customers into `tenant`, brings its tables to rest, and times both counts.
    private func measure(tenant: Tenant, owner: Database, now: Date) async throws {
        let today = CalendarDate(now)
        let generateStart = ContinuousClock.now
        let branches = try await generate(tenant: tenant, owner: owner, now: now)
        try await settle(tenant: tenant, owner: owner)
        let generated = ContinuousClock.now - generateStart
        let rule = SegmentRule.all([
            .condition(SegmentCondition(field: "age", op: ">=", value: 18)),
            .any([
                .condition(SegmentCondition(field: "favourite_branch", op: "=", value: .string(branches[0].uuidString))),
                .condition(SegmentCondition(field: "favourite_branch", op: "=", value: .string(branches[1].uuidString))),
            ]),
            .condition(SegmentCondition(field: "membership_status", op: "=", value: "active")),
            .not(.condition(SegmentCondition(field: "last_loan_date", op: "within_last_days", value: 365))),
            .condition(SegmentCondition(field: "consent", op: "=", value: "newsletter:weekly")),
            .not(.condition(SegmentCondition(field: "activity_attended", op: "exists", value: ["within_last_days": 182]))),
        ])
        let compiled = try SegmentCompiler(today: today).compile(rule)
        let handWritten = PostgresQuery(
            unsafeSQL: """
                SELECT count(*) FROM customers c
                WHERE c.merged_into IS NULL AND c.erased_at IS NULL
                  AND c.birth_date <= (DATE '\(today)' - interval '18 years')::date
                  AND c.favourite_branch_id IN ('\(branches[0])', '\(branches[1])')
                  AND c.membership_status = 'active'
                  AND (c.last_loan_date IS NULL OR c.last_loan_date < DATE '\(today)' - 365 OR c.last_loan_date > DATE '\(today)')
                  AND c.id IN (SELECT customer_id FROM consent_state WHERE topic = 'newsletter:weekly' AND status IN ('opted_in', 'confirmed'))
                  AND NOT EXISTS (SELECT 1 FROM registrations r JOIN activities a ON a.id = r.activity_id
                                  WHERE r.customer_id = c.id AND r.status = 'attended'
                                    AND a.starts_at >= (DATE '\(today)' - 182)::timestamp AT TIME ZONE 'Europe/Amsterdam'
                                    AND a.starts_at < (DATE '\(today)' + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam')
                """)

        var compiledTimes: [Duration] = []
        var handTimes: [Duration] = []
        var counts: (Int, Int) = (0, 0)
        // One warm-up each, then alternate so that neither query profits from the other's cache alone.
        for run in 0...runs {
            let (compiledCount, compiledTime) = try await timedCount(compiled.countQuery, tenant: tenant, owner: owner)
            let (handCount, handTime) = try await timedCount(handWritten, tenant: tenant, owner: owner)
            counts = (compiledCount, handCount)
            if run > 0 {
                compiledTimes.append(compiledTime)
                handTimes.append(handTime)
            }
        }
        guard counts.0 == counts.1 else { throw ValidationError("the compiled rule counts \(counts.0), the hand-written SQL \(counts.1)") }
        let compiledMedian = median(compiledTimes)
        let handMedian = median(handTimes)
        print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        print("customers: \(customers), generated with consents, activities and registrations in \(format(generated, "%.1f")) s")
        print(
            "rule: adults, in two branches, active, no loan for 12 months, newsletter consent, no activity attended in 6 months (7 conditions)"
        )
        print("count: \(counts.0) customers")
        print(
            "compiled count:     median \(milliseconds(compiledMedian)) ms (min \(milliseconds(compiledTimes.min() ?? .zero)), "
                + "max \(milliseconds(compiledTimes.max() ?? .zero))) over \(runs) runs")
        print(
            "hand-written count: median \(milliseconds(handMedian)) ms (min \(milliseconds(handTimes.min() ?? .zero)), "
                + "max \(milliseconds(handTimes.max() ?? .zero))) over \(runs) runs")
        print(
            "compiled / hand-written: \(String(format: "%.2f", Bench.seconds(compiledMedian) / max(Bench.seconds(handMedian), 0.000_001)))x")
        print("compiled SQL: \(compiled.countQuery.sql)")
        if explain {
            for (name, query) in [("compiled", compiled.countQuery), ("hand-written", handWritten)] {
                let plan = try await owner.withTenant(tenant) { tx in
                    var explained = query
                    explained.sql = "EXPLAIN (ANALYZE, BUFFERS) " + query.sql
                    return try await tx.query(explained).decode(String.self).reduce(into: [String]()) { $0.append($1) }
                }
                print("\(name) plan:\n" + plan.joined(separator: "\n"))
            }
        }
        if let ruleFile {
            try Data(try JSONEncoder().encode(rule)).write(to: URL(fileURLWithPath: ruleFile))
            print("rule written to \(ruleFile)")
        }
    }

    /// As autovacuum leaves tables at rest: statistics, and the visibility map that lets an index-only scan skip the
    /// table's pages. VACUUM cannot run inside a transaction, hence the bare connection; a VACUUM that meets another
    /// snapshot (autovacuum analysing the new rows) cannot mark pages all-visible, so it runs again until the
    /// customers' pages are (at most ten times).
    private func settle(tenant: Tenant, owner: Database) async throws {
        let schema = tenant.slug.schema.quoted
        let tables = ["customers", "consents", "consent_state", "registrations", "activities"].map { "\(schema).\($0)" }
        let logger = Logger(label: "kring.bench")
        for attempt in 1...10 {
            let visible = try await owner.withConnection { connection in
                _ = try await connection.query(PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) " + tables.joined(separator: ", ")), logger: logger)
                    .collect()
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT relallvisible::float8 / greatest(relpages, 1) FROM pg_class WHERE oid = '\(schema).customers'::regclass"),
                    logger: logger)
                return try await rows.decode(Double.self).reduce(0, +)
            }
            if visible >= 0.99 { return }
            if attempt == 10 { print("note: only \(Int(visible * 100))% of the customers' pages are all-visible after VACUUM") }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Customers by `INSERT ... SELECT generate_series`, deterministic per number: about 60% youth, 84% active,
    /// 6% never borrowed; a customer's id is the md5 of its number, so registrations can name customers without a
    /// lookup. Answers the branches, the busiest first.
    private func generate(tenant: Tenant, owner: Database, now: Date) async throws -> [UUID] {
        let demo = DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: 0)
        let branches = try await owner.withTenant(tenant) { tx in
            var ids: [UUID] = []
            for branch in demo.profile.branches {
                ids.append(
                    try await Branches.create(BranchDraft(name: branch.name, municipality: branch.municipality), by: .system, now: now, in: tx).id)
            }
            return ids
        }
        let n = customers
        let today = CalendarDate(now).description
        // In slices, so that no single statement holds a million rows' worth of trigger state.
        let slice = 250_000
        for start in stride(from: 1, through: n, by: slice) {
            let end = min(n, start + slice - 1)
            try await owner.withTenant(tenant) { tx in
                try await tx.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name,
                                                   birth_date, email, postcode, municipality, favourite_branch_id, last_loan_date, loans_12m, loans_total,
                                                   created_at, updated_at)
                            SELECT md5(i::text)::uuid, ARRAY['member'], (3000000 + i)::text,
                                   CASE WHEN i % 100 < 58 THEN 'youth' WHEN i % 100 < 96 THEN 'adult' ELSE 'other' END,
                                   CASE WHEN i % 25 < 21 THEN 'active' ELSE 'ended' END,
                                   DATE '\(today)' - (i % 9000),
                                   'Lid', 'Nummer ' || i,
                                   CASE WHEN i % 100 < 58 THEN DATE '\(today)' - (365 + (i * 7) % 6570) ELSE DATE '\(today)' - (6940 + (i * 13) % 25000) END,
                                   CASE WHEN i % 10 < 7 THEN 'lid' || i || '@example.nl' END,
                                   (2011 + i % 26)::text || ' AB', 'Haarlem',
                                   ($1::uuid[])[1 + (i * 31 % 97) % \(branches.count)],
                                   CASE WHEN i % 1000 < 62 THEN NULL ELSE DATE '\(today)' - ((i * 17) % 1100) END,
                                   CASE WHEN i % 1000 < 62 THEN 0 ELSE (i * 3) % 40 END,
                                   CASE WHEN i % 1000 < 62 THEN 0 ELSE 1 + (i * 11) % 900 END,
                                   now(), now()
                            FROM generate_series(\(start), \(end)) AS i
                            """,
                        binds: {
                            var binds = PostgresBindings()
                            binds.append(branches)
                            return binds
                        }()))
            }
        }
        try await owner.withTenant(tenant) { tx in
            // Newsletter consent for 40%, a quarter of them withdrawn later.
            try await tx.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO consents (customer_id, topic, status, recorded_at, source)
                        SELECT md5(i::text)::uuid, 'newsletter:weekly', 'confirmed', now() - interval '400 days', 'import'
                        FROM generate_series(1, \(n)) AS i WHERE i % 10 < 4
                        """))
            try await tx.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO consents (customer_id, topic, status, recorded_at, source)
                        SELECT md5(i::text)::uuid, 'newsletter:weekly', 'withdrawn', now() - interval '30 days', 'staff'
                        FROM generate_series(1, \(n)) AS i WHERE i % 10 = 0
                        """))
            // Activities over the past two years (about three a day), 200 registrations each, 85% attended.
            let activities = max(10, n / 450)
            try await tx.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, capacity, price_cents, created_at, updated_at)
                        SELECT md5('a' || k)::uuid, 'Activiteit ' || k, (ARRAY['youth', 'adults', 'nt2', 'digital'])[1 + k % 4],
                               ($1::uuid[])[1 + k % \(branches.count)], now() - (k * interval '730 days' / \(activities)),
                               now() - (k * interval '730 days' / \(activities)) + interval '90 minutes', 250, 0, now(), now()
                        FROM generate_series(1, \(activities)) AS k
                        """,
                    binds: {
                        var binds = PostgresBindings()
                        binds.append(branches)
                        return binds
                    }()))
            try await tx.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
                        SELECT gen_random_uuid(), md5('a' || k)::uuid, md5((1 + (k * 7919 + j * 104729) % \(n))::text)::uuid,
                               CASE WHEN (k + j) % 20 < 17 THEN 'attended' ELSE 'no_show' END, 0, 'staff', now(), now()
                        FROM generate_series(1, \(activities)) AS k, generate_series(1, 200) AS j
                        ON CONFLICT (activity_id, customer_id) DO NOTHING
                        """))
        }
        // The branches with the most customers first.
        return try await owner.withTenant(tenant) { tx in
            try await tx.query("SELECT favourite_branch_id FROM customers GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2")
                .decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) }
        }
    }

    /// One count in a tenant transaction, as the server runs it; only the query is timed.
    private func timedCount(_ query: PostgresQuery, tenant: Tenant, owner: Database) async throws -> (Int, Duration) {
        try await owner.withTenant(tenant) { tx in
            try await Segments.prepareCount(in: tx)
            let start = ContinuousClock.now
            let count = try await tx.query(query).decode(Int.self).reduce(0, +)
            return (count, ContinuousClock.now - start)
        }
    }

    private func median(_ times: [Duration]) -> Duration {
        let sorted = times.sorted()
        return sorted.isEmpty ? .zero : sorted[sorted.count / 2]
    }

    private func milliseconds(_ duration: Duration) -> String { String(format: "%.1f", Bench.seconds(duration) * 1000) }
    private func format(_ duration: Duration, _ pattern: String) -> String { String(format: pattern, Bench.seconds(duration)) }
}
