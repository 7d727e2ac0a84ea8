import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@testable import KringCampaigns

/// Business contacts for the B2B segment tests: 40 organisations of five types (with owners, tags, municipalities,
/// parents and statuses), 300 contacts with one or two roles (some ended, some not yet begun), consent histories and
/// campaign events. Seeded once per run; the tests only read it.
struct ContactLibrary: Sendable {
    let env: TestEnvironment
    let tenant: Tenant
    let organisations: [UUID]
    let owners: [UUID]
    let campaigns: [UUID]

    static let now = SegmentLibrary.now
    static let today = SegmentLibrary.today
    static let shared = Task { try await make() }

    static func make() async throws -> ContactLibrary {
        let env = try await TestEnvironment.forSuite("B2BSegments")
        let tenant = try await env.createTenant("b2bseg")
        let organisations = (0..<40).map { _ in UUID() }
        let owners = [UUID(), UUID(), UUID()]
        let campaigns = [UUID(), UUID()]
        let now = Self.now
        let today = Self.today.description
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO organisations (id, name, type, status, parent_id, municipality, account_owner_user_id, tags, created_at, updated_at)
                SELECT o.id, 'Organisatie ' || o.n,
                       (ARRAY['primary_school', 'secondary_school', 'municipality', 'partner', 'fund'])[1 + o.n % 5],
                       (ARRAY['active', 'active', 'prospect', 'former'])[1 + o.n % 4],
                       CASE WHEN o.n % 5 = 0 AND o.n > 0 THEN \(organisations[0]) END,
                       (ARRAY['Haarlem', 'Zandvoort', NULL])[1 + o.n % 3],
                       CASE WHEN o.n % 4 = 3 THEN NULL ELSE (\(owners)::uuid[])[1 + o.n % 3] END,
                       CASE o.n % 6 WHEN 0 THEN ARRAY['bibliotheek op school'] WHEN 1 THEN ARRAY['taalhuis', 'bibliotheek op school']
                                    WHEN 2 THEN ARRAY['taalhuis'] ELSE ARRAY[]::text[] END,
                       \(now), \(now)
                FROM unnest(\(organisations)::uuid[]) WITH ORDINALITY AS o (id, n)
                """)
            try await tx.query(
                """
                INSERT INTO contacts (id, first_name, last_name, email, created_at, updated_at)
                SELECT gen_random_uuid(), 'Contact', 'Nummer ' || i, CASE WHEN i % 10 = 0 THEN NULL ELSE 'contact' || i || '@relatie.example' END,
                       \(now), \(now)
                FROM generate_series(1, 300) AS i
                """)
            // A first role for everyone; a second for every third contact. Some roles ended, some begin next month.
            try await tx.query(
                """
                WITH c AS (SELECT id, row_number() OVER (ORDER BY last_name) AS n FROM contacts)
                INSERT INTO contact_roles (id, contact_id, organisation_id, dmu_role, active_from, active_to, created_at, updated_at)
                SELECT gen_random_uuid(), c.id, (\(organisations)::uuid[])[1 + c.n % 40],
                       (ARRAY['decision_maker', 'advisor', 'gatekeeper', 'user', 'influencer'])[1 + (c.n / 7) % 5],
                       CASE WHEN c.n % 17 = 0 THEN \(today)::date + 30 ELSE \(today)::date - (c.n % 900)::int END,
                       CASE WHEN c.n % 17 = 0 THEN NULL WHEN c.n % 13 = 0 THEN \(today)::date - 1 WHEN c.n % 11 = 0 THEN \(today)::date END, \(now), \(now)
                FROM c
                UNION ALL
                SELECT gen_random_uuid(), c.id, (\(organisations)::uuid[])[1 + (c.n * 7 + 3) % 40],
                       (ARRAY['user', 'decision_maker', 'influencer', 'advisor', 'gatekeeper'])[1 + c.n % 5],
                       \(today)::date - 100, NULL, \(now), \(now)
                FROM c WHERE c.n % 3 = 0
                """)
            // Consent histories: opted in, some withdrawn later, some confirmed on another list.
            try await tx.query(
                """
                WITH c AS (SELECT id, row_number() OVER (ORDER BY last_name) AS n FROM contacts)
                INSERT INTO contact_consents (contact_id, topic, status, recorded_at, source)
                SELECT id, 'list:onderwijs', 'opted_in', \(now) - interval '30 days', 'staff' FROM c WHERE n % 3 <> 1
                UNION ALL SELECT id, 'list:onderwijs', 'withdrawn', \(now) - interval '3 days', 'web_form' FROM c WHERE n % 9 = 0
                UNION ALL SELECT id, 'list:relaties', 'confirmed', \(now) - interval '10 days', 'import' FROM c WHERE n % 4 = 1
                """)
            for (campaign, days) in [(campaigns[0], 20.0), (campaigns[1], 100.0)] {
                let sent = now.addingTimeInterval(-days * 86_400)
                for (kind, modulo) in [("sent", 2), ("opened", 5), ("clicked", 11)] {
                    try await tx.query(
                        """
                        INSERT INTO campaign_events (campaign_id, contact_id, kind, at)
                        SELECT \(campaign), id, \(kind), \(sent) + interval '1 hour' * \(modulo) FROM contacts
                        WHERE abs(hashtext(id::text || \(campaign.uuidString))) % \(modulo) = 0
                        """)
                }
            }
        }
        try await env.owner.withPlatform { tx in _ = try await tx.query("ANALYZE") }
        return ContactLibrary(env: env, tenant: tenant, organisations: organisations, owners: owners, campaigns: campaigns)
    }

    /// Contacts with a role active today (at its organisation) for which `predicate` holds: written as a join, not as
    /// the compiler's EXISTS.
    func ids(where predicate: String) async throws -> Set<UUID> {
        try await env.db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT DISTINCT ct.id FROM contacts ct JOIN contact_roles cr ON cr.contact_id = ct.id JOIN organisations o ON o.id = cr.organisation_id
                        WHERE cr.active_from <= DATE '\(Self.today)' AND (cr.active_to IS NULL OR cr.active_to >= DATE '\(Self.today)') AND (\(predicate))
                        """))
            return Set(try await rows.decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) })
        }
    }

    func ids(_ compiled: CompiledSegment) async throws -> Set<UUID> {
        try await env.db.withTenant(tenant) { tx in
            Set(try await tx.query(compiled.idsQuery).decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) })
        }
    }

    func fill(_ text: String) -> String {
        text.replacingOccurrences(of: "{o1}", with: organisations[0].uuidString.lowercased())
            .replacingOccurrences(of: "{o2}", with: organisations[1].uuidString.lowercased())
            .replacingOccurrences(of: "{u1}", with: owners[0].uuidString.lowercased())
            .replacingOccurrences(of: "{u2}", with: owners[1].uuidString.lowercased())
            .replacingOccurrences(of: "{c1}", with: campaigns[0].uuidString.lowercased())
    }
}

/// B2B rules and the SQL a person would write for one active role `cr` at organisation `o` of contact `ct`;
/// `{o1}`, `{o2}`, `{u1}`, `{u2}`, `{c1}` stand for organisations, account owners and a campaign.
enum ContactSegmentCase {
    static func latestConsent(_ topics: String) -> String {
        """
        ct.id IN (SELECT contact_id FROM (SELECT DISTINCT ON (contact_id, topic) contact_id, status FROM contact_consents WHERE topic IN (\(topics))
                  ORDER BY contact_id, topic, recorded_at DESC, id DESC) latest WHERE status IN ('opted_in', 'confirmed'))
        """
    }

    static let all: [SegmentCase] = [
        SegmentCase(#"{"field": "organisation_type", "op": "=", "value": "primary_school"}"#, "o.type = 'primary_school'"),
        SegmentCase(#"{"field": "organisation_type", "op": "!=", "value": "municipality"}"#, "o.type <> 'municipality'"),
        SegmentCase(
            #"{"field": "organisation_type", "op": "in", "value": ["primary_school", "secondary_school"]}"#,
            "o.type IN ('primary_school', 'secondary_school')"),
        SegmentCase(
            #"{"any": [{"field": "organisation_type", "op": "=", "value": "fund"}, {"field": "organisation_type", "op": "=", "value": "partner"}]}"#,
            "o.type IN ('fund', 'partner')"),
        SegmentCase(#"{"field": "organisation_status", "op": "=", "value": "former"}"#, "o.status = 'former'"),
        SegmentCase(#"{"field": "organisation", "op": "=", "value": "{o2}"}"#, "o.id = '{o2}'"),
        SegmentCase(#"{"field": "organisation", "op": "in", "value": ["{o1}", "{o2}"]}"#, "o.id IN ('{o1}', '{o2}')"),
        SegmentCase(#"{"field": "parent_organisation", "op": "=", "value": "{o1}"}"#, "o.parent_id = '{o1}'"),
        SegmentCase(#"{"field": "parent_organisation", "op": "is_empty"}"#, "o.parent_id IS NULL"),
        SegmentCase(#"{"field": "account_owner", "op": "=", "value": "{u1}"}"#, "o.account_owner_user_id = '{u1}'"),
        SegmentCase(#"{"field": "account_owner", "op": "!=", "value": "{u1}"}"#, "o.account_owner_user_id <> '{u1}'"),
        SegmentCase(#"{"field": "account_owner", "op": "in", "value": ["{u1}", "{u2}"]}"#, "o.account_owner_user_id IN ('{u1}', '{u2}')"),
        SegmentCase(#"{"field": "account_owner", "op": "is_empty"}"#, "o.account_owner_user_id IS NULL"),
        SegmentCase(
            #"{"not": {"field": "account_owner", "op": "=", "value": "{u1}"}}"#,
            "o.account_owner_user_id IS NULL OR o.account_owner_user_id <> '{u1}'"),
        SegmentCase(#"{"field": "organisation_municipality", "op": "=", "value": "Zandvoort"}"#, "o.municipality = 'Zandvoort'"),
        SegmentCase(#"{"field": "organisation_municipality", "op": "!=", "value": "Zandvoort"}"#, "o.municipality <> 'Zandvoort'"),
        SegmentCase(#"{"field": "organisation_municipality", "op": "is_empty"}"#, "o.municipality IS NULL"),
        SegmentCase(#"{"field": "organisation_tags", "op": "contains", "value": "taalhuis"}"#, "'taalhuis' = ANY(o.tags)"),
        SegmentCase(
            #"{"field": "organisation_tags", "op": "in", "value": ["taalhuis", "bibliotheek op school"]}"#,
            "o.tags && ARRAY['taalhuis', 'bibliotheek op school']"),
        SegmentCase(#"{"field": "organisation_tags", "op": "is_empty"}"#, "o.tags = '{}'"),
        SegmentCase(#"{"field": "dmu_role", "op": "=", "value": "decision_maker"}"#, "cr.dmu_role = 'decision_maker'"),
        SegmentCase(#"{"field": "dmu_role", "op": "in", "value": ["advisor", "influencer"]}"#, "cr.dmu_role IN ('advisor', 'influencer')"),
        // The same role meets every condition: decision makers at primary schools, not anyone who is one of each.
        SegmentCase(
            #"{"all": [{"field": "organisation_type", "op": "=", "value": "primary_school"}, {"field": "dmu_role", "op": "=", "value": "decision_maker"}]}"#,
            "o.type = 'primary_school' AND cr.dmu_role = 'decision_maker'"),
        SegmentCase(#"{"field": "consent", "op": "=", "value": "list:onderwijs"}"#, latestConsent("'list:onderwijs'")),
        SegmentCase(
            #"{"field": "consent", "op": "in", "value": ["list:onderwijs", "list:relaties"]}"#, latestConsent("'list:onderwijs', 'list:relaties'")),
        SegmentCase(#"{"not": {"field": "consent", "op": "=", "value": "list:onderwijs"}}"#, "NOT (\(latestConsent("'list:onderwijs'")))"),
        SegmentCase(
            #"{"field": "campaign_received", "op": "exists"}"#,
            "ct.id IN (SELECT contact_id FROM campaign_events WHERE kind = 'sent' AND contact_id IS NOT NULL)"),
        SegmentCase(
            #"{"field": "campaign_opened", "op": "exists", "value": {"campaign": "{c1}"}}"#,
            "ct.id IN (SELECT contact_id FROM campaign_events WHERE kind = 'opened' AND campaign_id = '{c1}' AND contact_id IS NOT NULL)"),
        SegmentCase(
            #"{"field": "campaign_clicked", "op": "exists", "value": {"within_last_days": 60}}"#,
            "ct.id IN (SELECT contact_id FROM campaign_events WHERE kind = 'clicked' AND at >= (DATE '\(ContactLibrary.today)' - 60)::timestamp AT TIME ZONE 'Europe/Amsterdam' AND contact_id IS NOT NULL)"
        ),
        SegmentCase(
            #"{"all": [{"field": "organisation_type", "op": "in", "value": ["primary_school", "secondary_school"]}, {"field": "consent", "op": "=", "value": "list:onderwijs"}, {"not": {"field": "campaign_received", "op": "exists", "value": {"within_last_days": 30}}}]}"#,
            "o.type IN ('primary_school', 'secondary_school') AND \(latestConsent("'list:onderwijs'")) AND ct.id NOT IN (SELECT contact_id FROM campaign_events WHERE kind = 'sent' AND contact_id IS NOT NULL AND at >= (DATE '\(ContactLibrary.today)' - 30)::timestamp AT TIME ZONE 'Europe/Amsterdam')"
        ),
    ]
}

@Suite struct B2BSegmentTests {
    func rule(_ json: String) throws -> SegmentRule {
        try JSONDecoder().decode(SegmentRule.self, from: Data(json.utf8))
    }

    @Test(arguments: ContactSegmentCase.all)
    func compiledRuleSelectsTheContactsHandWrittenSQLSelects(_ testCase: SegmentCase) async throws {
        let library = try await ContactLibrary.shared.value
        let compiled = try SegmentCompiler(today: ContactLibrary.today, subject: .b2b).compile(try rule(library.fill(testCase.rule)))
        let expected = try await library.ids(where: library.fill(testCase.sql))
        let selected = try await library.ids(compiled)
        let total = try await library.ids(where: "true").count
        #expect(!expected.isEmpty, "the hand-written SQL selects nobody")
        #expect(expected.count < total, "the hand-written SQL selects everybody")
        #expect(selected == expected, "compiled \(selected.count), by hand \(expected.count): \(compiled.predicate)")
        #expect(try await library.env.db.withTenant(library.tenant) { tx in try await Segments.count(compiled, in: tx) } == expected.count)
        // Values travel as bind parameters only.
        for text in SegmentCompilerTests.strings(in: try rule(library.fill(testCase.rule))) {
            #expect(!compiled.predicate.description.lowercased().contains(text.lowercased()), "\(text) is in \(compiled.predicate)")
        }
    }

    @Test func everyB2BFieldAndEveryOperatorOfEachTypeIsCompared() throws {
        let missing = try SegmentCompilerTests.uncovered(by: ContactSegmentCase.all.map(\.rule), subject: .b2b)
        #expect(missing.fields == [], "fields without a case")
        #expect(missing.operators == [], "operators without a case")
    }

    /// The data tells "one role meets both" from "one role meets each", so the case above can tell them apart.
    @Test func conditionsHoldForOneAndTheSameRole() async throws {
        let library = try await ContactLibrary.shared.value
        let compiled = try SegmentCompiler(today: ContactLibrary.today, subject: .b2b).compile(
            try rule(
                """
                {"all": [{"field": "organisation_type", "op": "=", "value": "primary_school"}, {"field": "dmu_role", "op": "=", "value": "decision_maker"}]}
                """))
        let sameRole = try await library.ids(compiled)
        let eachSomewhere = try await library.ids(
            where: """
                ct.id IN (SELECT r.contact_id FROM contact_roles r JOIN organisations g ON g.id = r.organisation_id WHERE g.type = 'primary_school'
                          AND r.active_from <= DATE '\(ContactLibrary.today)' AND (r.active_to IS NULL OR r.active_to >= DATE '\(ContactLibrary.today)'))
                AND ct.id IN (SELECT r.contact_id FROM contact_roles r WHERE r.dmu_role = 'decision_maker'
                          AND r.active_from <= DATE '\(ContactLibrary.today)' AND (r.active_to IS NULL OR r.active_to >= DATE '\(ContactLibrary.today)'))
                """)
        #expect(!sameRole.isEmpty)
        #expect(sameRole.isSubset(of: eachSomewhere))
        #expect(eachSomewhere.count > sameRole.count, "the data has a contact who is a decision maker elsewhere and works at a primary school")
    }

    /// Ended roles and roles that have not begun select nobody; a contact's only role counts up to and including its
    /// last day.
    @Test func onlyRolesActiveTodayCount() async throws {
        let library = try await ContactLibrary.shared.value
        let everyone = try await library.ids(SegmentCompiler(today: ContactLibrary.today, subject: .b2b).everyone())
        let withRole = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query(
                """
                SELECT count(DISTINCT contact_id)::int FROM contact_roles
                WHERE active_from <= \(ContactLibrary.today.description)::date AND coalesce(active_to, \(ContactLibrary.today.description)::date) >= \(ContactLibrary.today.description)::date
                """
            ).decode(Int.self).reduce(0, +)
        }
        let contacts = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM contacts").decode(Int.self).reduce(0, +)
        }
        #expect(everyone.count == withRole)
        #expect(withRole < contacts, "the data has contacts whose only role ended or has not begun")
    }

    /// A field of the other subject answers with the node's path and the subject's own fields.
    @Test func fieldsBelongToTheirSubject() throws {
        do {
            _ = try SegmentCompiler(today: ContactLibrary.today, subject: .b2b).compile(
                try rule(#"{"all": [{"field": "dmu_role", "op": "=", "value": "user"}, {"field": "age", "op": ">=", "value": 18}]}"#))
            Issue.record("a B2C field compiled in a B2B rule")
        } catch SegmentError.invalid(let errors) {
            #expect(errors.map(\.field) == ["rule.all[1].field"])
            #expect(errors.first?.message.contains("organisation_type") == true)
        }
        do {
            _ = try SegmentCompiler(today: ContactLibrary.today).compile(try rule(#"{"field": "dmu_role", "op": "=", "value": "user"}"#))
            Issue.record("a B2B field compiled in a B2C rule")
        } catch SegmentError.invalid(let errors) {
            #expect(errors.map(\.field) == ["rule.field"])
        }
        do {
            _ = try SegmentCompiler(today: ContactLibrary.today, subject: .b2b).compile(
                try rule(#"{"field": "dmu_role", "op": "=", "value": "directeur"}"#))
            Issue.record("an unknown DMU role compiled")
        } catch SegmentError.invalid(let errors) {
            #expect(errors.map(\.field) == ["rule.value"])
        }
    }
}
