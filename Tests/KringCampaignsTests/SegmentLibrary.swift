import Foundation
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO

/// One demo library of 2,000 members (the demo generator through the real import) plus fixtures for what the
/// demo leaves out: guests, tags, withdrawn consents, shared households, dated activities, complaints, campaign
/// events. Seeded once per test run and shared by the compiler tests, which only read it.
struct SegmentLibrary: Sendable {
    let env: TestEnvironment
    let tenant: Tenant
    let branches: [UUID]
    let campaigns: [UUID]

    /// 2026-11-27 13:00 in the Netherlands.
    static let now = Date(timeIntervalSince1970: 1_795_780_800)
    static let today = CalendarDate(now)

    static let shared = Task { try await make() }

    static func make() async throws -> SegmentLibrary {
        let env = try await TestEnvironment.forSuite("Segments")
        let tenant = try await env.createTenant("seg")
        _ = try await DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: 2000).seed(tenant: tenant, db: env.db, now: now)
        let campaigns = [UUID(), UUID()]
        let branches = try await env.db.withTenant(tenant) { tx in
            // The branches most members favour, so that conditions on them select someone.
            let branches = try await tx.query(
                """
                SELECT favourite_branch_id FROM customers WHERE favourite_branch_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2
                """
            ).decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) }
            try await addFixtures(branches: branches, campaigns: campaigns, in: tx)
            return branches
        }
        try await addMosaic(for: tenant, in: env.db)
        try await env.owner.withPlatform { tx in _ = try await tx.query("ANALYZE") }
        return SegmentLibrary(env: env, tenant: tenant, branches: branches, campaigns: campaigns)
    }

    /// Mosaic reference data for the members' postcodes: a current delivery with three segments (S1 to S3) and four subsegments
    /// (one postcode in nine left out, so some members have none), and a replaced delivery that puts every postcode in
    /// segment S1, which rules must not read.
    static func addMosaic(for tenant: Tenant, in db: Database) async throws {
        let postcodes = try await db.withTenant(tenant) { tx in
            try await tx.query("SELECT DISTINCT postcode FROM customers WHERE postcode IS NOT NULL").decode(String.self)
                .reduce(into: [String]()) { $0.append($1) }
        }
        let current = UUID()
        let replaced = UUID()
        try await db.withPlatform { tx in
            // The suite's database outlives a run: an earlier run's delivery is replaced too.
            try await tx.query("UPDATE reference.mosaic_deliveries SET current = false, replaced_at = now() WHERE current")
            for (id, isCurrent) in [(replaced, false), (current, true)] {
                try await tx.query(
                    """
                    INSERT INTO reference.mosaic_deliveries (id, label, scheme_sha256, areas_sha256, segments, subsegments, postcodes,
                                                             households, inhabitants, loaded_at, current)
                    VALUES (\(id), 'Test', '', '', 3, 4, 0, 0, 0, \(now), \(isCurrent))
                    """)
                try await tx.query(
                    """
                    INSERT INTO reference.mosaic_segments (delivery_id, code, name)
                    SELECT \(id), code, 'Segment ' || code FROM unnest(ARRAY['S1', 'S2', 'S3']) AS code
                    """)
                try await tx.query(
                    """
                    INSERT INTO reference.mosaic_subsegments (delivery_id, code, segment_code, name)
                    SELECT \(id), code, left(code, 2), 'Subsegment ' || code FROM unnest(ARRAY['S1A', 'S1B', 'S2A', 'S3A']) AS code
                    """)
            }
            try await tx.query(
                """
                INSERT INTO reference.mosaic_postcodes (delivery_id, postcode, municipality, subsegment_code, segment_code)
                SELECT \(replaced), postcode, 'Haarlem', 'S1A', 'S1' FROM unnest(\(postcodes)) AS postcode
                """)
            try await tx.query(
                """
                INSERT INTO reference.mosaic_postcodes (delivery_id, postcode, municipality, subsegment_code, segment_code)
                SELECT \(current), postcode, 'Haarlem', code, left(code, 2)
                FROM (SELECT postcode, (ARRAY['S1A', 'S1B', 'S2A', 'S3A'])[1 + abs(hashtext(postcode)) % 4] AS code
                      FROM unnest(\(postcodes)) AS postcode
                      WHERE abs(hashtext(postcode || 'x')) % 9 <> 0) p
                """)
        }
    }

    static func addFixtures(branches: [UUID], campaigns: [UUID], in tx: TenantTransaction) async throws {
        let now = Self.now
        let h = "abs(hashtext(id::text))"
        // Guests: no member type, status, birth date, postcode or branch.
        try await tx.query(
            """
            INSERT INTO customers (id, roles, first_name, last_name, email, created_at, updated_at)
            SELECT gen_random_uuid(), ARRAY['guest'], 'Gast', 'Bezoeker ' || i, 'gast' || i || '@example.nl', \(now), \(now)
            FROM generate_series(1, 40) AS i
            """)
        try await tx.query(PostgresQuery(unsafeSQL: "UPDATE customers SET tags = ARRAY['vip'] WHERE \(h) % 7 = 0"))
        try await tx.query(PostgresQuery(unsafeSQL: "UPDATE customers SET tags = tags || ARRAY['dyslexie'] WHERE \(h) % 11 = 0"))
        try await tx.query(
            PostgresQuery(unsafeSQL: "UPDATE customers SET birth_date = DATE '1985-06-15' WHERE \(h) % 60 = 11 AND member_type = 'adult'"))
        try await tx.query(PostgresQuery(unsafeSQL: "UPDATE customers SET birth_date = NULL WHERE \(h) % 50 = 7 AND member_type = 'adult'"))
        try await tx.query(PostgresQuery(unsafeSQL: "UPDATE customers SET postcode = '2042 AB' WHERE \(h) % 45 = 2 AND postcode IS NOT NULL"))
        try await tx.query(
            PostgresQuery(unsafeSQL: "UPDATE customers SET membership_status = 'suspended' WHERE \(h) % 80 = 3 AND membership_status = 'active'"))
        try await tx.query(
            """
            UPDATE customers SET membership_end = \(today.description)::date + (abs(hashtext(id::text)) % 60)
            WHERE abs(hashtext(id::text)) % 20 = 5 AND membership_status = 'active'
            """)
        // Consent histories: a third of the weekly newsletter withdrawn later, some of those opted in again.
        try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source)
            SELECT customer_id, 'newsletter:weekly', 'withdrawn', \(now) - interval '5 days', 'staff'
            FROM consents WHERE topic = 'newsletter:weekly' AND abs(hashtext(customer_id::text)) % 3 = 0
            """)
        try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source)
            SELECT customer_id, 'newsletter:weekly', 'opted_in', \(now) - interval '1 day', 'web_form'
            FROM consents WHERE topic = 'newsletter:weekly' AND status = 'withdrawn' AND abs(hashtext(customer_id::text)) % 2 = 0
            """)
        try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source)
            SELECT id, 'newsletter:youth', 'opted_in', \(now) - interval '10 days', 'staff' FROM customers WHERE abs(hashtext(id::text)) % 5 = 1
            """)
        // Households: youth members moved in with adults, and parents linked to children elsewhere.
        try await tx.query(
            """
            WITH y AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers WHERE member_type = 'youth'),
                 a AS (SELECT household_id, row_number() OVER (ORDER BY id) AS n FROM customers WHERE member_type = 'adult' AND household_id IS NOT NULL)
            UPDATE customers c SET household_id = a.household_id FROM y JOIN a ON a.n = y.n WHERE c.id = y.id AND y.n <= 300
            """)
        try await tx.query(
            """
            WITH y AS (SELECT id, row_number() OVER (ORDER BY id DESC) AS n FROM customers WHERE member_type = 'youth'),
                 a AS (SELECT id, row_number() OVER (ORDER BY id DESC) AS n FROM customers WHERE member_type = 'adult')
            INSERT INTO household_links (parent_id, child_id, created_at) SELECT a.id, y.id, \(now) FROM y JOIN a ON a.n = y.n WHERE y.n <= 60
            """)
        // Complaints, half of them resolved.
        try await tx.query(
            """
            INSERT INTO complaints (id, customer_id, channel, category, description, status, due_at, created_at, updated_at, resolved_at)
            SELECT gen_random_uuid(), id, 'desk', 'service', 'Wachttijd', CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN 'resolved' ELSE 'in_progress' END,
                   \(now) + interval '14 days', \(now), \(now), NULL
            FROM customers WHERE abs(hashtext(id::text)) % 40 = 3
            """)
        // Activities on known days: in 3 days (youth, first branch), 30 and 200 days ago.
        let activities: [(UUID, String, UUID, Double)] = [
            (UUID(), "youth", branches[0], 3), (UUID(), "nt2", branches[0], -30),
            (UUID(), "adults", branches[1], -200), (UUID(), "adults", branches[1], 5),
        ]
        for (id, category, branch, days) in activities {
            let starts = now.addingTimeInterval(days * 86_400)
            try await tx.query(
                """
                INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, capacity, price_cents, created_at, updated_at)
                VALUES (\(id), 'Segmenttest', \(category), \(branch), \(starts), \(starts.addingTimeInterval(3600)), 500, 0, \(now), \(now))
                """)
            let future = days > 0
            try await tx.query(
                """
                INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
                SELECT gen_random_uuid(), \(id), id,
                       CASE abs(hashtext(id::text || \(category))) % 4 WHEN 0 THEN 'cancelled' WHEN 1 THEN \(future ? "waitlisted" : "no_show")
                       ELSE \(future ? "booked" : "attended") END, 0, 'staff', \(now) - interval '40 days', \(now)
                FROM customers WHERE abs(hashtext(id::text || \(category))) % 17 = 1
                """)
        }
        try await tx.query(
            """
            INSERT INTO evaluations (registration_id, score, created_at)
            SELECT id, 1 + abs(hashtext(id::text)) % 10, \(now) FROM registrations r
            WHERE status = 'attended' AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.registration_id = r.id) AND abs(hashtext(id::text)) % 3 = 0
            """)
        // Campaign events: the first campaign 20 days ago, the second 100 days ago.
        for (campaign, days) in [(campaigns[0], 20.0), (campaigns[1], 100.0)] {
            let sent = now.addingTimeInterval(-days * 86_400)
            for (kind, modulo) in [("sent", 3), ("opened", 7), ("clicked", 19)] {
                try await tx.query(
                    """
                    INSERT INTO campaign_events (campaign_id, customer_id, kind, at)
                    SELECT \(campaign), id, \(kind), \(sent) + interval '1 hour' * \(modulo) FROM customers
                    WHERE email IS NOT NULL AND abs(hashtext(id::text || \(campaign.uuidString))) % \(modulo) = 0
                    """)
            }
        }
    }

    /// Ids selected by `predicate` over `customers c`, with the same base condition as every segment.
    func ids(where predicate: String) async throws -> Set<UUID> {
        try await env.db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                PostgresQuery(unsafeSQL: "SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND c.erased_at IS NULL AND (\(predicate))"))
            return Set(try await rows.decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) })
        }
    }

    func ids(_ compiled: CompiledSegment) async throws -> Set<UUID> {
        try await env.db.withTenant(tenant) { tx in
            Set(try await tx.query(compiled.idsQuery).decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) })
        }
    }

    var total: Int {
        get async throws { try await ids(where: "true").count }
    }
}
