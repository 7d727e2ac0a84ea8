import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The library's retention terms applied (AVG article 5(1)(e)): personal data it no longer needs goes.
///
/// - Ended members, the set number of months after their membership ended, are erased as `CustomerPrivacy.erase`
///   does (the row stays for the figures, without anything that names the person).
/// - Activity guests who are nothing else, the set number of months after their last activity, likewise.
/// - Either is kept while another tie holds: a current subscription or consent (they asked for mail), an open
///   complaint, an activity within the guests' term, or a booking still to come.
/// - Mail events and audit records older than their terms are removed.
///
/// A dry run counts what would go and changes nothing; a run records its counts in the library's audit log.
public enum Retention {
    public struct Counts: Sendable, Equatable, Codable {
        public var endedMembers = 0
        public var guests = 0
        public var mailEvents = 0
        public var auditRecords = 0

        public init(endedMembers: Int = 0, guests: Int = 0, mailEvents: Int = 0, auditRecords: Int = 0) {
            self.endedMembers = endedMembers
            self.guests = guests
            self.mailEvents = mailEvents
            self.auditRecords = auditRecords
        }

        enum CodingKeys: String, CodingKey {
            case endedMembers = "ended_members"
            case guests
            case mailEvents = "mail_events"
            case auditRecords = "audit_records"
        }

        public var total: Int { endedMembers + guests + mailEvents + auditRecords }
    }

    /// The moments before which each kind goes, for `now` and the library's terms.
    struct Cutoffs {
        let endedMembers: Date
        let guests: Date
        let mailEvents: Date
        let audit: Date

        init(_ settings: TenantSettings, now: Date) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam")!
            func back(_ months: Int) -> Date { calendar.date(byAdding: .month, value: -months, to: now) ?? now }
            endedMembers = back(settings.retentionEndedMembersMonths)
            guests = back(settings.retentionGuestsMonths)
            mailEvents = back(settings.retentionMailEventsMonths)
            audit = back(settings.retentionAuditMonths)
        }
    }

    /// What a run at `now` goes by: the library's terms, the moments they give, and the customers to erase (ended
    /// members past their term and guests past theirs, without another tie).
    struct Plan {
        let settings: TenantSettings
        let cutoffs: Cutoffs
        let members: [UUID]
        let guests: [UUID]
    }

    static func plan(now: Date, in tx: TenantTransaction) async throws -> Plan {
        let settings = try await TenantSettings.load(in: tx)
        let cutoffs = Cutoffs(settings, now: now)
        let rows = try await tx.query(
            """
            SELECT c.id, c.roles @> '{member}' FROM customers c
            WHERE c.merged_into IS NULL AND c.erased_at IS NULL
              AND (
                (c.roles @> '{member}' AND c.membership_status = 'ended'
                 AND c.membership_end < (\(cutoffs.endedMembers)::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date)
                OR (c.roles = '{guest}' AND c.created_at < \(cutoffs.guests))
              )
              AND NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.status IN ('opted_in', 'confirmed'))
              AND NOT EXISTS (SELECT 1 FROM complaints k WHERE k.customer_id = c.id AND k.status <> 'resolved')
              AND NOT EXISTS (
                SELECT 1 FROM registrations r JOIN activities a ON a.id = r.activity_id
                WHERE r.customer_id = c.id AND (a.starts_at >= \(cutoffs.guests) OR r.registered_at >= \(cutoffs.guests))
              )
            ORDER BY c.id
            """)
        var members: [UUID] = []
        var guests: [UUID] = []
        for try await (id, member) in rows.decode((UUID, Bool).self) {
            if member { members.append(id) } else { guests.append(id) }
        }
        return Plan(settings: settings, cutoffs: cutoffs, members: members, guests: guests)
    }

    /// What a run at `now` would remove, changing nothing.
    public static func dryRun(now: Date, in tx: TenantTransaction) async throws -> Counts {
        let plan = try await plan(now: now, in: tx)
        let cutoffs = plan.cutoffs
        let mailEvents =
            try await tx.query("SELECT count(*)::int8 FROM campaign_events WHERE at < \(cutoffs.mailEvents)").decode(Int.self)
            .first { _ in true } ?? 0
        let audit = try await tx.query("SELECT count(*)::int8 FROM audit_log WHERE at < \(cutoffs.audit)").decode(Int.self).first { _ in true } ?? 0
        return Counts(endedMembers: plan.members.count, guests: plan.guests.count, mailEvents: mailEvents, auditRecords: audit)
    }

    /// Applies the library's terms at `now` and records the counts in its audit log (also when nothing went, so the
    /// log shows the job ran).
    public static func apply(now: Date, in tx: TenantTransaction) async throws -> Counts {
        let plan = try await plan(now: now, in: tx)
        let (settings, cutoffs, members, guests) = (plan.settings, plan.cutoffs, plan.members, plan.guests)
        for id in members + guests { try await CustomerPrivacy.erase(id: id, by: .system, now: now, in: tx) }
        let mailEvents =
            try await tx.query(
                "WITH gone AS (DELETE FROM campaign_events WHERE at < \(cutoffs.mailEvents) RETURNING 1) SELECT count(*)::int8 FROM gone"
            ).decode(Int.self).first { _ in true } ?? 0
        let audit = try await tx.query("SELECT retention_delete_audit(\(cutoffs.audit))::int8").decode(Int.self).first { _ in true } ?? 0
        let counts = Counts(endedMembers: members.count, guests: guests.count, mailEvents: mailEvents, auditRecords: audit)
        try await TenantAudit.record(
            "retention.applied", subjectType: "retention", subjectID: nil, by: .system,
            details: [
                "ended_members": String(counts.endedMembers), "guests": String(counts.guests), "mail_events": String(counts.mailEvents),
                "audit_records": String(counts.auditRecords),
                "terms_months": [
                    settings.retentionEndedMembersMonths, settings.retentionGuestsMonths, settings.retentionMailEventsMonths,
                    settings.retentionAuditMonths,
                ].map(String.init).joined(separator: "/"),
            ],
            at: now, in: tx)
        return counts
    }
}
