import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The recipient snapshot: one `sends` row per campaign x customer x occurrence x step, written in one statement.
///
/// Who is in it: the segment (at the pinned version) and, for marketing, the list's confirmed subscribers (the
/// latest consent statement on `list:<key>` is `confirmed`); never merged or erased customers, never an address
/// on the suppression list (for service mail, unsubscribing from all marketing does not count), and one mail per
/// address (a member before a guest with the same e-mail). Delivery checks suppression and consent once more.
enum Snapshot {
    /// The filter every audience shares: a mailable customer and address, the list consent for marketing.
    /// `binds` already holds the rule's parameters; the list topic and the marketing flag are appended.
    static func audienceCondition(_ campaign: Campaign, listKey: String?, binds: inout PostgresBindings) -> String {
        binds.append(campaign.purpose == .marketing)
        let marketing = binds.count
        var sql = """
            \(CompiledSegment.baseCondition) AND c.email IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_sha256 = sha256(convert_to(c.email, 'UTF8'))
                            AND (x.reason <> 'unsubscribed' OR $\(marketing)))
            """
        if let listKey {
            binds.append("list:\(listKey)")
            sql += """
                 AND EXISTS (SELECT 1 FROM consent_state k WHERE k.customer_id = c.id AND k.topic = $\(binds.count)
                             AND k.status = 'confirmed')
                """
        }
        return sql
    }

    static func listKey(_ campaign: Campaign, in tx: TenantTransaction) async throws -> String? {
        guard let id = campaign.listID else { return nil }
        for try await key in try await tx.query("SELECT key FROM lists WHERE id = \(id)").decode(String.self) { return key }
        throw CampaignError.invalid([FieldError(field: "list_id", message: "The list no longer exists.")])
    }

    /// Writes the sends of a one-off campaign; answers how many recipients it has.
    static func take(_ campaign: Campaign, segmentVersion: Int?, now: Date, in tx: TenantTransaction) async throws -> Int {
        var predicate = "TRUE"
        var binds = PostgresBindings()
        if let segmentID = campaign.segmentID {
            let segment: Segment
            if let segmentVersion {
                segment = try await Segments.find(id: segmentID, version: segmentVersion, in: tx)
            } else {
                segment = try await Segments.find(id: segmentID, in: tx)
            }
            let compiled = try SegmentCompiler(today: CalendarDate(now)).compile(segment.rule)
            predicate = compiled.predicate
            binds = compiled.binds
        }
        let audience = audienceCondition(campaign, listKey: try await listKey(campaign, in: tx), binds: &binds)
        binds.append(campaign.id)
        let id = binds.count
        binds.append(campaign.priority)
        binds.append(now)
        binds.append(campaign.subjectB != nil)
        try await tx.query(PostgresQuery(unsafeSQL: """
            INSERT INTO sends (id, campaign_id, customer_id, email, status, priority, due_at, variant, created_at)
            SELECT gen_random_uuid(), $\(id), r.id, r.email, 'pending', $\(id + 1), $\(id + 2),
                   CASE WHEN $\(id + 3) AND random() < 0.5 THEN 'b' ELSE 'a' END, $\(id + 2)
            FROM (SELECT DISTINCT ON (c.email) c.id, c.email FROM customers c
                  WHERE \(audience) AND (\(predicate))
                  ORDER BY c.email, ('member' = ANY (c.roles)) DESC, c.id) r
            ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
            """, binds: binds))
        return try await tx.query("SELECT count(*) FROM sends WHERE campaign_id = \(campaign.id)").decode(Int.self).reduce(0, +)
    }
}
