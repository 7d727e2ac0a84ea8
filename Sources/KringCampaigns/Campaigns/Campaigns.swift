import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

public enum Campaigns {
    /// Registrations within this many days after a mail count as its conversions.
    public static let conversionDays = 14

    public static func create(_ draft: CampaignDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Campaign {
        let (kind, purpose, valid) = try draft.validate()
        let audience = try await checkReferences(valid, in: tx)
        let id = UUID()
        let rows = try await tx.query(
            """
            INSERT INTO campaigns (id, name, kind, purpose, audience, state, list_id, segment_id, template_id, subject, subject_b, from_name,
                                   from_address, reply_to, priority, journey, created_by, created_at, updated_at)
            VALUES (\(id), \(valid.name), \(kind.rawValue), \(purpose.rawValue), \(audience.rawValue), 'draft', \(valid.listID), \(valid.segmentID),
                    \(valid.templateID), \(valid.subject), \(valid.subjectB), \(valid.fromName), \(valid.fromAddress?.lowercased()),
                    \(valid.replyTo?.lowercased()), \(kind == .journey ? 4 : 5), \(try encode(valid.journey))::jsonb, \(actor.userID), \(now), \(now))
            RETURNING \(unescaped: Campaign.columns)
            """)
        let campaign = try await single(rows)
        try await TenantAudit.record("campaign.created", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return campaign
    }

    /// Changes a draft or a paused journey.
    public static func update(id: UUID, with draft: CampaignDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Campaign
    {
        let current = try await find(id: id, forUpdate: true, in: tx)
        guard current.state == .draft || (current.kind == .journey && current.state == .paused) else {
            throw CampaignError.wrongState("Only a draft (or a paused journey) can be changed; this campaign is \(current.state.rawValue).")
        }
        let (kind, purpose, valid) = try draft.validate()
        guard kind == current.kind else { throw CampaignError.invalid([FieldError(field: "kind", message: "The kind of a campaign cannot change.")]) }
        // A change that names neither an audience nor a segment keeps whom the campaign mails.
        let audience = try await checkReferences(valid, otherwise: current.audience, in: tx)
        let rows = try await tx.query(
            """
            UPDATE campaigns SET name = \(valid.name), purpose = \(purpose.rawValue), audience = \(audience.rawValue), list_id = \(valid.listID), segment_id = \(valid.segmentID),
                   template_id = \(valid.templateID), subject = \(valid.subject), subject_b = \(valid.subjectB), from_name = \(valid.fromName),
                   from_address = \(valid.fromAddress?.lowercased()), reply_to = \(valid.replyTo?.lowercased()),
                   journey = \(try encode(valid.journey))::jsonb, updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: Campaign.columns)
            """)
        let campaign = try await single(rows)
        try await TenantAudit.record("campaign.updated", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return campaign
    }

    public static func find(id: UUID, forUpdate: Bool = false, in tx: TenantTransaction) async throws -> Campaign {
        let rows = try await tx.query(
            "SELECT \(unescaped: Campaign.columns) FROM campaigns WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")")
        for try await row in rows { return try Campaign(row: row) }
        throw CampaignError.notFound
    }

    /// Campaigns and journeys by id (keyset), without the library's built-in transactional campaigns.
    public static func list(after: UUID?, limit: Int, in tx: TenantTransaction) async throws -> [Campaign] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Campaign.columns) FROM campaigns
            WHERE kind <> 'transactional' AND (\(after == nil) OR id > \(after ?? UUID())) ORDER BY id LIMIT \(limit)
            """)
        var campaigns: [Campaign] = []
        for try await row in rows { campaigns.append(try Campaign(row: row)) }
        return campaigns
    }

    /// Schedules a one-off campaign for `at`, or starts it now (snapshot of the recipients) when `at` is nil or past.
    /// Starts a journey (its trigger is evaluated from the next scheduler run on).
    public static func schedule(id: UUID, at: Date?, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Campaign {
        let campaign = try await find(id: id, forUpdate: true, in: tx)
        guard campaign.state == .draft || campaign.state == .scheduled || (campaign.kind == .journey && campaign.state == .paused) else {
            throw CampaignError.wrongState("A \(campaign.state.rawValue) campaign cannot be scheduled.")
        }
        try await checkReady(campaign, in: tx)
        let result: Campaign
        if campaign.kind == .journey {
            result = try await setState(id, .active, also: "started_at = coalesce(started_at, \(now))", now: now, in: tx)
        } else if let at, at > now {
            result = try await setState(id, .scheduled, also: "scheduled_at = \(at)", now: now, in: tx)
        } else {
            result = try await start(campaign, now: now, in: tx)
        }
        try await TenantAudit.record(
            "campaign.scheduled", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["state": result.state.rawValue, "recipients": result.recipients.map(String.init) ?? ""], at: now, in: tx)
        return result
    }

    /// Pause (sends wait), resume, or cancel (pending sends are cancelled; what was sent stays sent).
    public static func transition(id: UUID, to action: String, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Campaign {
        let campaign = try await find(id: id, forUpdate: true, in: tx)
        let target: Campaign.State
        switch (action, campaign.state) {
        case ("pause", .sending), ("pause", .scheduled), ("pause", .active): target = .paused
        case ("resume", .paused): target = campaign.kind == .journey ? .active : (campaign.startedAt == nil ? .scheduled : .sending)
        case ("cancel", .draft), ("cancel", .scheduled), ("cancel", .sending), ("cancel", .paused), ("cancel", .active): target = .cancelled
        default: throw CampaignError.wrongState("Cannot \(action) a \(campaign.state.rawValue) campaign.")
        }
        if target == .cancelled {
            try await tx.query("UPDATE sends SET status = 'cancelled' WHERE campaign_id = \(id) AND status = 'pending'")
        }
        let result = try await setState(id, target, also: target == .cancelled ? "finished_at = \(now)" : nil, now: now, in: tx)
        try await TenantAudit.record(
            "campaign.\(action)", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["state": target.rawValue], at: now, in: tx)
        return result
    }

    /// Snapshots the recipients and marks the campaign as sending.
    static func start(_ campaign: Campaign, now: Date, in tx: TenantTransaction) async throws -> Campaign {
        let (templateVersion, segmentVersion) = try await pinVersions(campaign, in: tx)
        let count = try await Snapshot.take(campaign, segmentVersion: segmentVersion, now: now, in: tx)
        let rows = try await tx.query(
            """
            UPDATE campaigns SET state = 'sending', started_at = \(now), recipients = \(count), template_version = \(templateVersion),
                   segment_version = \(segmentVersion), updated_at = \(now)
            WHERE id = \(campaign.id)
            RETURNING \(unescaped: Campaign.columns)
            """)
        return try await single(rows)
    }

    /// The scheduler's pass over one library: due campaigns start, journeys find new occurrences, new bookings get
    /// their confirmation, campaigns whose sends are all settled are marked sent. Answers the sends it queued.
    @discardableResult
    public static func tick(now: Date, in tx: TenantTransaction) async throws -> Int {
        var queued = 0
        let due = try await tx.query(
            """
            SELECT \(unescaped: Campaign.columns) FROM campaigns WHERE state = 'scheduled' AND scheduled_at <= \(now) ORDER BY scheduled_at FOR UPDATE SKIP LOCKED
            """)
        var starting: [Campaign] = []
        for try await row in due { starting.append(try Campaign(row: row)) }
        for campaign in starting {
            let started = try await start(campaign, now: now, in: tx)
            queued += started.recipients ?? 0
            try await TenantAudit.record(
                "campaign.started", subjectType: "campaign", subjectID: campaign.id.uuidString.lowercased(), by: .system,
                details: ["recipients": String(started.recipients ?? 0)], at: now, in: tx)
        }
        let journeys = try await tx.query(
            "SELECT \(unescaped: Campaign.columns) FROM campaigns WHERE kind = 'journey' AND state = 'active' ORDER BY id")
        var active: [Campaign] = []
        for try await row in journeys { active.append(try Campaign(row: row)) }
        for journey in active { queued += try await JourneyRunner.run(journey, now: now, in: tx) }
        queued += try await TransactionalMails.queueBookingConfirmations(now: now, in: tx)
        try await tx.query(
            """
            UPDATE campaigns c SET state = 'sent', finished_at = \(now), updated_at = \(now)
            WHERE c.state = 'sending' AND c.kind = 'one_off'
              AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = c.id AND s.status IN ('pending', 'sending'))
            """)
        try await tx.query("DELETE FROM send_windows WHERE minute < \(now.addingTimeInterval(-3600))")
        return queued
    }

    public static func stats(id: UUID, in tx: TenantTransaction) async throws -> CampaignStats {
        _ = try await find(id: id, in: tx)
        let counts = try await tx.query(
            """
            SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'sending')), count(*) FILTER (WHERE status = 'sent'),
                   count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'suppressed'), count(*) FILTER (WHERE status = 'skipped')
            FROM sends WHERE campaign_id = \(id)
            """
        ).decode((Int, Int, Int, Int, Int, Int).self)
        var sends = (0, 0, 0, 0, 0, 0)
        for try await row in counts { sends = row }
        let events = try await tx.query(
            """
            SELECT count(DISTINCT send_id) FILTER (WHERE kind = 'delivered'), count(DISTINCT send_id) FILTER (WHERE kind = 'bounced_hard'),
                   count(DISTINCT send_id) FILTER (WHERE kind = 'bounced_soft'), count(DISTINCT send_id) FILTER (WHERE kind = 'opened'),
                   count(DISTINCT send_id) FILTER (WHERE kind = 'clicked'), count(DISTINCT coalesce(customer_id, contact_id)) FILTER (WHERE kind = 'unsubscribed'),
                   count(DISTINCT coalesce(customer_id, contact_id)) FILTER (WHERE kind = 'complained')
            FROM campaign_events WHERE campaign_id = \(id)
            """
        ).decode((Int, Int, Int, Int, Int, Int, Int).self)
        var e = (0, 0, 0, 0, 0, 0, 0)
        for try await row in events { e = row }
        var links: [CampaignStats.Link] = []
        let clicks = try await tx.query(
            """
            SELECT url, count(DISTINCT send_id) FROM campaign_events WHERE campaign_id = \(id) AND kind = 'clicked' AND url IS NOT NULL
            GROUP BY url ORDER BY 2 DESC, url LIMIT 50
            """
        ).decode((String, Int).self)
        for try await (url, count) in clicks { links.append(.init(url: url, uniqueClicks: count)) }
        let conversionRows = try await tx.query(
            """
            SELECT count(DISTINCT s.customer_id) FROM sends s
            WHERE s.campaign_id = \(id) AND s.status = 'sent'
              AND EXISTS (SELECT 1 FROM registrations r WHERE r.customer_id = s.customer_id AND r.registered_at >= s.sent_at
                          AND r.registered_at < s.sent_at + make_interval(days => \(conversionDays)::int))
            """
        ).decode(Int.self)
        var conversions = 0
        for try await count in conversionRows { conversions = count }
        // Without a provider's delivery reports, a mail the relay took and that did not bounce counts as delivered.
        let delivered = e.0 > 0 ? e.0 : max(0, sends.2 - e.1 - e.2)
        return CampaignStats(
            campaignID: id, recipients: sends.0, pending: sends.1, sent: sends.2, failed: sends.3, suppressed: sends.4, skipped: sends.5,
            delivered: delivered, bouncedHard: e.1, bouncedSoft: e.2, uniqueOpens: e.3, uniqueClicks: e.4, unsubscribed: e.5,
            complaints: e.6, conversions: conversions, conversionDays: conversionDays, links: links)
    }

    /// How many customers a one-off campaign would mail if it started now: its segment, mailable, and for marketing
    /// confirmed on its list, one per address. Nil for a campaign to contacts.
    public static func audienceCount(of campaign: Campaign, now: Date, in tx: TenantTransaction) async throws -> Int? {
        try await Snapshot.count(campaign, now: now, in: tx)
    }

    /// Per step of a journey: how many mails wait (pending or being sent), went out, or were skipped (the step's
    /// condition unmet, or no longer mailable).
    public static func stepCounts(id: UUID, in tx: TenantTransaction) async throws -> [Int: (waiting: Int, sent: Int, skipped: Int)] {
        var counts: [Int: (waiting: Int, sent: Int, skipped: Int)] = [:]
        for try await (step, waiting, sent, skipped) in try await tx.query(
            """
            SELECT step, count(*) FILTER (WHERE status IN ('pending', 'sending'))::int, count(*) FILTER (WHERE status = 'sent')::int,
                   count(*) FILTER (WHERE status IN ('skipped', 'suppressed'))::int
            FROM sends WHERE campaign_id = \(id) GROUP BY step
            """
        ).decode((Int, Int, Int, Int).self) {
            counts[step] = (waiting, sent, skipped)
        }
        return counts
    }

    /// Opens and clicks by day after the campaign started (day 0 is its first 24 hours), each mail counted on the day
    /// of its first open or first click, for the first `days` days.
    public static func firstDays(of campaign: Campaign, days: Int = 7, in tx: TenantTransaction) async throws -> [(opens: Int, clicks: Int)] {
        let id = campaign.id
        var result = Array(repeating: (opens: 0, clicks: 0), count: days)
        guard let started = campaign.startedAt else { return result }
        let rows = try await tx.query(
            """
            SELECT kind, floor(extract(epoch FROM first - \(started)) / 86400)::int, count(*)::int
            FROM (SELECT kind, send_id, min(at) AS first FROM campaign_events
                  WHERE campaign_id = \(id) AND kind IN ('opened', 'clicked') AND send_id IS NOT NULL GROUP BY kind, send_id) firsts
            WHERE first >= \(started) AND first < \(started) + make_interval(days => \(days)::int)
            GROUP BY 1, 2
            """
        ).decode((String, Int, Int).self)
        for try await (kind, day, count) in rows where (0..<days).contains(day) {
            if kind == "opened" { result[day].opens = count } else { result[day].clicks = count }
        }
        return result
    }

    // MARK: Helpers

    /// Checks that what the draft names exists in this library, and answers whom the campaign mails: the draft's
    /// audience, else its segment's subject, else `otherwise`. A segment of the other subject is refused.
    static func checkReferences(_ draft: CampaignDraft, otherwise: Segment.Subject = .b2c, in tx: TenantTransaction) async throws -> Segment.Subject {
        var errors: [FieldError] = []
        var audience = draft.audience.flatMap(Segment.Subject.init(rawValue:))
        if let list = draft.listID, try await !exists("SELECT 1 FROM lists WHERE id = \(list) AND archived_at IS NULL", in: tx) {
            errors.append(FieldError(field: "list_id", message: "No such list in this library."))
        }
        if let segment = draft.segmentID {
            var subject: Segment.Subject?
            for try await raw in try await tx.query("SELECT subject FROM segments WHERE id = \(segment)").decode(String.self) {
                subject = try UnreadableColumn.enumValue(Segment.Subject.self, raw, column: "subject")
            }
            if let subject {
                if let audience, audience != subject {
                    errors.append(
                        FieldError(
                            field: "segment_id",
                            message: "The segment selects \(subject == .b2c ? "customers" : "contacts"); "
                                + "this campaign mails \(audience == .b2c ? "customers" : "contacts")."))
                }
                audience = audience ?? subject
            } else {
                errors.append(FieldError(field: "segment_id", message: "No such segment in this library."))
            }
        }
        if audience == .b2b, draft.kind == Campaign.Kind.journey.rawValue {
            errors.append(
                FieldError(
                    field: draft.audience == nil ? "segment_id" : "audience",
                    message: "Journeys follow customers (memberships, birthdays, activities): use b2c."))
        }
        var templates: [(String, UUID)] = draft.templateID.map { [("template_id", $0)] } ?? []
        for (index, step) in (draft.journey?.steps ?? []).enumerated() { templates.append(("journey.steps[\(index)].template_id", step.templateID)) }
        for (field, template) in templates where try await !exists("SELECT 1 FROM templates WHERE id = \(template)", in: tx) {
            errors.append(FieldError(field: field, message: "No such template in this library."))
        }
        guard errors.isEmpty else { throw CampaignError.invalid(errors) }
        return audience ?? otherwise
    }

    /// What a campaign needs before it can go out.
    static func checkReady(_ campaign: Campaign, in tx: TenantTransaction) async throws {
        var errors: [FieldError] = []
        if campaign.kind == .oneOff {
            if campaign.templateID == nil { errors.append(FieldError(field: "template_id", message: "Choose a template.")) }
            if campaign.segmentID == nil && campaign.listID == nil {
                errors.append(FieldError(field: "segment_id", message: "Choose a segment or a list."))
            }
        }
        if campaign.purpose == .marketing && campaign.listID == nil {
            errors.append(
                FieldError(
                    field: "list_id", message: "Marketing mail goes to a list's confirmed subscribers: choose a list (a segment then narrows it)."))
        }
        if campaign.fromAddress == nil, try await MailSettings.load(in: tx).fromAddress == nil {
            errors.append(FieldError(field: "from_address", message: "Give a sender, or set the library's mail_from_address."))
        }
        guard errors.isEmpty else { throw CampaignError.invalid(errors) }
    }

    static func pinVersions(_ campaign: Campaign, in tx: TenantTransaction) async throws -> (template: Int?, segment: Int?) {
        var template: Int?
        if let id = campaign.templateID {
            for try await version in try await tx.query("SELECT version FROM templates WHERE id = \(id)").decode(Int.self) { template = version }
        }
        var segment: Int?
        if let id = campaign.segmentID {
            for try await version in try await tx.query("SELECT version FROM segments WHERE id = \(id)").decode(Int.self) { segment = version }
        }
        return (template, segment)
    }

    /// Moves a campaign to `state`, setting the columns in `also` (e.g. `"finished_at = \(now)"`) in the same update.
    static func setState(_ id: UUID, _ state: Campaign.State, also: SQL? = nil, now: Date, in tx: TenantTransaction) async throws -> Campaign {
        let extra: SQL = also.map { ", \($0)" } ?? ""
        let rows = try await tx.query(
            sql: """
                UPDATE campaigns SET state = \(state.rawValue), updated_at = \(now)\(extra) WHERE id = \(id) RETURNING \(unescaped: Campaign.columns)
                """)
        return try await single(rows)
    }

    static func exists(_ query: PostgresQuery, in tx: TenantTransaction) async throws -> Bool {
        for try await _ in try await tx.query(query) { return true }
        return false
    }

    static func encode(_ journey: Journey?) throws -> String? {
        guard let journey else { return nil }
        return String(decoding: try JSONEncoder().encode(journey), as: UTF8.self)
    }

    static func single(_ rows: PostgresRowSequence) async throws -> Campaign {
        for try await row in rows { return try Campaign(row: row) }
        throw NoRowReturned()
    }
}
