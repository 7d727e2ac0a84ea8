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
///
/// A B2B campaign snapshots contacts instead: those with an address and a role active today that meets the segment
/// (every active role without a segment). The send's context names that role and its organisation, so the mail can
/// greet "Jan de Vries, directeur, De Regenboog". A contact's list consent is their latest statement on the list's
/// topic being `opted_in` or `confirmed`: contacts' statements are recorded by staff or the relations import, with
/// their evidence; there is no public sign-up for contacts that would need a confirming click.
enum Snapshot {
    /// The filter every audience shares: a mailable customer and address, the list consent for marketing.
    static func audienceCondition(_ campaign: Campaign, listKey: String?) -> SQL {
        var sql: SQL = """
            \(CompiledSegment.baseCondition) AND c.email IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_sha256 = sha256(convert_to(c.email, 'UTF8'))
                            AND (x.reason <> 'unsubscribed' OR \(campaign.purpose == .marketing)))
            """
        if let listKey {
            sql += """
                 AND EXISTS (SELECT 1 FROM consent_state k WHERE k.customer_id = c.id AND k.topic = \("list:\(listKey)")
                             AND k.status = 'confirmed')
                """
        }
        return sql
    }

    /// The same for contacts (`ct`).
    static func contactAudienceCondition(_ campaign: Campaign, listKey: String?) -> SQL {
        var sql: SQL = """
            ct.email IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_sha256 = sha256(convert_to(ct.email, 'UTF8'))
                            AND (x.reason <> 'unsubscribed' OR \(campaign.purpose == .marketing)))
            """
        if let listKey {
            sql += " AND \(contactSubscribed(topic: "\("list:\(listKey)")"))"
        }
        return sql
    }

    /// A contact `ct` whose latest statement on `topic` is opted in or confirmed.
    static func contactSubscribed(topic: SQL) -> SQL {
        """
        EXISTS (SELECT 1 FROM (SELECT k.status FROM contact_consents k WHERE k.contact_id = ct.id AND k.topic = \(topic)
                               ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1) latest WHERE latest.status IN ('opted_in', 'confirmed'))
        """
    }

    static func listKey(_ campaign: Campaign, in tx: TenantTransaction) async throws -> String? {
        guard let id = campaign.listID else { return nil }
        for try await key in try await tx.query("SELECT key FROM lists WHERE id = \(id)").decode(String.self) { return key }
        throw CampaignError.invalid([FieldError(field: "list_id", message: "The list no longer exists.")])
    }

    /// Writes the sends of a one-off campaign; answers how many recipients it has.
    static func take(_ campaign: Campaign, segmentVersion: Int?, now: Date, in tx: TenantTransaction) async throws -> Int {
        let (compiled, recipients) = try await audience(campaign, segmentVersion: segmentVersion, now: now, in: tx)
        guard let recipients else { return try await takeContacts(campaign, compiled, now: now, in: tx) }
        try await tx.query(
            sql: """
                INSERT INTO sends (\(newSendColumns), customer_id, email)
                SELECT \(newSend(campaign, now: now)), r.id, r.email FROM (\(recipients)) r
                ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
                """)
        return try await tx.query("SELECT count(*) FROM sends WHERE campaign_id = \(campaign.id)").decode(Int.self).reduce(0, +)
    }

    /// How many customers a one-off campaign would mail if it started now (what `take` would write).
    static func count(_ campaign: Campaign, now: Date, in tx: TenantTransaction) async throws -> Int? {
        let (_, recipients) = try await audience(campaign, segmentVersion: nil, now: now, in: tx)
        guard let recipients else { return nil }
        try await Segments.prepareCount(in: tx)
        return try await tx.query(sql: "SELECT count(*) FROM (\(recipients)) r").decode(Int.self).reduce(0, +)
    }

    /// The compiled segment, and for customers the query of the recipients: the segment's customers who can be
    /// mailed (and for marketing are confirmed on the list), one per address (a member before a guest).
    static func audience(
        _ campaign: Campaign, segmentVersion: Int?, now: Date, in tx: TenantTransaction
    ) async throws -> (CompiledSegment, SQL?) {
        let compiler = SegmentCompiler(today: CalendarDate(now), subject: campaign.audience)
        var compiled = compiler.everyone()
        if let segmentID = campaign.segmentID {
            let segment: Segment
            if let segmentVersion {
                segment = try await Segments.find(id: segmentID, version: segmentVersion, in: tx)
            } else {
                segment = try await Segments.find(id: segmentID, in: tx)
            }
            guard segment.subject == campaign.audience else {
                throw CampaignError.invalid([FieldError(field: "segment_id", message: "The segment's subject is not the campaign's audience.")])
            }
            compiled = try compiler.compile(segment.rule)
        }
        if campaign.audience == .b2b { return (compiled, nil) }
        let audience = audienceCondition(campaign, listKey: try await listKey(campaign, in: tx))
        let recipients: SQL = """
            SELECT DISTINCT ON (c.email) c.id, c.email FROM customers c
            WHERE \(audience) AND (\(compiled.predicate))
            ORDER BY c.email, ('member' = ANY (c.roles)) DESC, c.id
            """
        return (compiled, recipients)
    }

    static let newSendColumns: SQL = "id, campaign_id, status, priority, due_at, variant, created_at"

    /// The values of `newSendColumns` for a new pending send of `campaign`: a random A/B variant when the campaign
    /// has a second subject.
    static func newSend(_ campaign: Campaign, now: Date) -> SQL {
        """
        gen_random_uuid(), \(campaign.id), 'pending', \(campaign.priority), \(now), \
        CASE WHEN \(campaign.subjectB != nil) AND random() < 0.5 THEN 'b' ELSE 'a' END, \(now)
        """
    }

    /// One send per contact, naming the matching role that started last (then by id).
    static func takeContacts(_ campaign: Campaign, _ compiled: CompiledSegment, now: Date, in tx: TenantTransaction) async throws -> Int {
        guard let role = compiled.rolePredicate else { throw CampaignError.invalid([FieldError(field: "segment_id", message: "Not a b2b segment.")]) }
        let audience = contactAudienceCondition(campaign, listKey: try await listKey(campaign, in: tx))
        try await tx.query(
            sql: """
                INSERT INTO sends (\(newSendColumns), contact_id, email, context)
                SELECT \(newSend(campaign, now: now)), ct.id, ct.email, jsonb_build_object('contact_role_id', m.id::text, 'organisation_id', m.organisation_id::text)
                FROM contacts ct
                CROSS JOIN LATERAL (SELECT cr.id, cr.organisation_id FROM contact_roles cr JOIN organisations o ON o.id = cr.organisation_id
                                    WHERE \(role) ORDER BY cr.active_from DESC, cr.id LIMIT 1) m
                WHERE \(audience)
                ON CONFLICT (campaign_id, contact_id, occurrence, step) WHERE contact_id IS NOT NULL DO NOTHING
                """)
        return try await tx.query("SELECT count(*) FROM sends WHERE campaign_id = \(campaign.id)").decode(Int.self).reduce(0, +)
    }
}
