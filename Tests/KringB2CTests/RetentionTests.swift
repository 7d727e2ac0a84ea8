import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

/// The retention terms against a real PostgreSQL, with the moment of the run injected: who is erased and who is kept
/// (a current consent, an open complaint, a recent or coming activity keep a person), old mail events and audit records
/// removed, the counts in the audit log, a dry run that changes nothing, and a second run that finds nothing.
@Suite struct RetentionTests {
    static let day: TimeInterval = 86_400

    @Test func theTermsEraseWhoHasNoTieLeftAndRemoveOldEventsWithADryRunFirst() async throws {
        let env = try await TestEnvironment.forSuite("Retention")
        let tenant = try await env.createTenant("rt")
        // The database refuses removing recent audit records or mail events whatever the clock says, so the run
        // happens now and the data lies in the past.
        let now = Date()
        func ago(months: Double) -> Date { now.addingTimeInterval(-months * 30.44 * Self.day) }
        let ids = try await env.db.withTenant(tenant) { tx -> [String: UUID] in
            var ids: [String: UUID] = [:]
            func customer(_ key: String, roles: [String], status: String? = nil, ended: Date? = nil, created: Date) async throws {
                let id = UUID()
                ids[key] = id
                try await tx.query(
                    """
                    INSERT INTO customers (id, roles, member_number, membership_status, membership_start, membership_end, first_name, last_name,
                                           email, postcode, created_at, updated_at)
                    VALUES (\(id), \(roles), \(roles.contains("member") ? key : nil), \(status), \(status == nil ? nil : "2015-01-01")::date,
                            \(ended.map { CalendarDate($0).description })::date, 'Naam', \(key), \(key + "@example.nl"), '2011 AB', \(created), \(created))
                    """)
            }
            let longAgo = ago(months: 60)
            try await customer("ended_long_ago", roles: ["member"], status: "ended", ended: ago(months: 25), created: longAgo)
            try await customer("ended_recently", roles: ["member"], status: "ended", ended: ago(months: 23), created: longAgo)
            try await customer("ended_with_consent", roles: ["member"], status: "ended", ended: ago(months: 30), created: longAgo)
            try await customer("ended_with_complaint", roles: ["member"], status: "ended", ended: ago(months: 30), created: longAgo)
            try await customer("ended_but_came_lately", roles: ["guest", "member"], status: "ended", ended: ago(months: 30), created: longAgo)
            try await customer("active_member", roles: ["member"], status: "active", created: longAgo)
            try await customer("guest_long_ago", roles: ["guest"], created: ago(months: 20))
            try await customer("guest_recently", roles: ["guest"], created: ago(months: 20))
            try await customer("guest_booked", roles: ["guest"], created: ago(months: 20))
            try await customer("guest_new", roles: ["guest"], created: ago(months: 2))
            try await tx.query(
                """
                INSERT INTO consents (customer_id, topic, status, recorded_at, source)
                VALUES (\(ids["ended_with_consent"]!), 'newsletter:weekly', 'confirmed', \(ago(months: 40)), 'staff')
                """)
            try await tx.query(
                """
                INSERT INTO complaints (id, customer_id, channel, category, status, due_at, created_at, updated_at)
                VALUES (\(UUID()), \(ids["ended_with_complaint"]!), 'desk', 'Service', 'new', \(ago(months: 1)), \(ago(months: 2)), \(ago(months: 2)))
                """)
            func attend(_ key: String, at starts: Date, registered: Date? = nil) async throws {
                let activity = UUID()
                try await tx.query(
                    """
                    INSERT INTO activities (id, title, category, starts_at, ends_at, created_at, updated_at)
                    VALUES (\(activity), 'Lezing', 'Lezing', \(starts), \(starts.addingTimeInterval(3600)), \(starts), \(starts))
                    """)
                try await tx.query(
                    """
                    INSERT INTO registrations (id, activity_id, customer_id, status, source, registered_at, updated_at)
                    VALUES (\(UUID()), \(activity), \(ids[key]!), \(starts > now ? "booked" : "attended"), 'staff',
                            \(registered ?? starts.addingTimeInterval(-7 * Self.day)), \(starts))
                    """)
            }
            try await attend("guest_long_ago", at: ago(months: 13))
            try await attend("guest_recently", at: ago(months: 11))
            try await attend("guest_booked", at: now.addingTimeInterval(7 * Self.day), registered: ago(months: 14))
            try await attend("ended_but_came_lately", at: ago(months: 3))
            // Mail events: two older than 13 months, one younger. Audit: one record older than 24 months, one younger.
            let campaign = UUID()
            try await tx.query(
                """
                INSERT INTO campaigns (id, name, kind, purpose, state, created_at, updated_at)
                VALUES (\(campaign), 'Nieuwsbrief', 'one_off', 'marketing', 'draft', \(longAgo), \(longAgo))
                """)
            for months in [15.0, 14, 12] {
                try await tx.query(
                    """
                    INSERT INTO campaign_events (campaign_id, customer_id, kind, at)
                    VALUES (\(campaign), \(ids["active_member"]!), 'opened', \(ago(months: months)))
                    """)
            }
            for months in [25.0, 23] {
                try await tx.query(
                    """
                    INSERT INTO audit_log (at, action, subject_type, subject_id) VALUES (\(ago(months: months)), 'customer.read', 'customer', 'x')
                    """)
            }
            return ids
        }

        // The dry run counts and changes nothing; a run two months earlier would not yet erase the member who left
        // 25 months ago.
        let expected = Retention.Counts(endedMembers: 1, guests: 1, mailEvents: 2, auditRecords: 1)
        let dry = try await env.db.withTenant(tenant) { tx in try await Retention.dryRun(now: now, in: tx) }
        #expect(dry == expected)
        let earlier = try await env.db.withTenant(tenant) { tx in try await Retention.dryRun(now: ago(months: 2), in: tx) }
        #expect(earlier.endedMembers == 0 && earlier.guests == 0)
        #expect(try await env.db.withTenant(tenant) { tx in try await Retention.dryRun(now: now, in: tx) } == expected, "still there")

        let applied = try await env.db.withTenant(tenant) { tx in try await Retention.apply(now: now, in: tx) }
        #expect(applied == expected)
        let erased = try await env.db.withTenant(tenant) { tx in
            var erased: [UUID: Bool] = [:]
            for try await (id, gone, named) in try await tx.query("SELECT id, erased_at IS NOT NULL, last_name IS NOT NULL FROM customers")
                .decode((UUID, Bool, Bool).self)
            {
                #expect(gone != named, "an erased customer has no name left, a kept one has")
                erased[id] = gone
            }
            return erased
        }
        let gone = Set(ids.filter { erased[$0.value] == true }.keys)
        #expect(gone == ["ended_long_ago", "guest_long_ago"])
        let (events, audit, recorded) = try await env.db.withTenant(tenant) { tx in
            (
                try await tx.query("SELECT count(*)::int8 FROM campaign_events").decode(Int.self).first { _ in true } ?? -1,
                try await tx.query("SELECT count(*)::int8 FROM audit_log WHERE action = 'customer.read'").decode(Int.self).first { _ in true } ?? -1,
                try await tx.query(
                    "SELECT details ->> 'ended_members', details ->> 'guests', details ->> 'mail_events', details ->> 'audit_records' FROM audit_log WHERE action = 'retention.applied'"
                )
                .decode((String, String, String, String).self).reduce(into: [[String]]()) { $0.append([$1.0, $1.1, $1.2, $1.3]) }
            )
        }
        #expect(events == 1 && audit == 1)
        #expect(recorded == [["1", "1", "2", "1"]], "the run's counts in the audit log")
        // The erased keep nothing that names them and cannot be mailed again.
        let suppressed = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int8 FROM suppressions WHERE reason = 'erased'").decode(Int.self).first { _ in true } ?? 0
        }
        #expect(suppressed == 2)

        // Again: nothing left to do, and the run is recorded once more.
        let again = try await env.db.withTenant(tenant) { tx in try await Retention.apply(now: now, in: tx) }
        #expect(again == Retention.Counts())

        // A shorter term is a setting; the audit log's shortest is 12 months, and the database holds to it too.
        await #expect(throws: SettingsError.self) {
            try await env.db.withTenant(tenant) { tx in
                try await TenantSettings.change(.init(retentionAuditMonths: 6), by: .system, now: now, in: tx)
            }
        }
        _ = try await env.db.withTenant(tenant) { tx in
            try await TenantSettings.change(.init(retentionEndedMembersMonths: 22), by: .system, now: now, in: tx)
        }
        let shorter = try await env.db.withTenant(tenant) { tx in try await Retention.dryRun(now: now, in: tx) }
        #expect(shorter.endedMembers == 1, "the member who left 23 months ago")
        for statement in ["SELECT retention_delete_audit(now() - interval '6 months')", "DELETE FROM audit_log", "UPDATE audit_log SET action = 'x'"]
        {
            await #expect(throws: PSQLError.self, "\(statement)") {
                try await env.db.withTenant(tenant) { tx in _ = try await tx.query(PostgresQuery(unsafeSQL: statement)).collect() }
            }
        }
    }
}
