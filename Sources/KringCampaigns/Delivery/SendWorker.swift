import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringMail
import Logging
import PostgresNIO
import Synchronization

/// Delivers the sends of every active library: claims a batch (SKIP LOCKED, under a lease), checks suppression and
/// consent once more, renders each mail and hands it to the transport over several connections at once, and marks
/// each send `sent` as soon as the relay has taken it.
///
/// Any number of workers share the queue. A worker that is stopped gracefully finishes the mails it holds; one that
/// is killed leaves them `sending` until the lease ends, when another worker takes them. The Message-ID of a mail is
/// the send's id, so a mail that went out just before a kill and goes again after the lease is recognisable as the
/// same message.
public final class SendWorker: Sendable {
    public struct Options: Sendable {
        public var name = "worker-\(ProcessInfo.processInfo.processIdentifier)"
        /// Sends claimed at a time; each connection takes its share, so larger batches leave connections idle less
        /// often at a batch's end.
        public var batchSize = 500
        /// SMTP connections used at once. Each waits for its mail's "sent" to commit before its next mail, so this
        /// is also how many mails a killed worker can leave unmarked (and sent again, with the same Message-ID,
        /// after the lease). 16 gave 1,000 mails/s on two cores; most relays accept that many connections.
        public var connections = 16
        public var lease: TimeInterval = 120
        public var retry = RetryPolicy()
        public init() {}
    }

    let db: Database
    let transport: any MailTransport
    let links: PublicLinks
    let options: Options
    let now: @Sendable () -> Date
    let logger: Logger
    private let tenants = Mutex<(list: [Tenant], read: Date?)>(([], nil))
    private let stopping = Mutex(false)

    public init(
        db: Database, transport: any MailTransport, links: PublicLinks, options: Options = Options(),
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.db = db
        self.transport = transport
        self.links = links
        self.options = options
        self.now = now
        self.logger = logger
    }

    /// Claim no more, for good: a graceful shutdown. The batches in hand (the one on the wire and the one claimed
    /// ahead) are still delivered and marked; nothing new is claimed, so the worker stops within a batch or two.
    public func stopClaiming() {
        stopping.withLock { $0 = true }
    }

    var isStopping: Bool { stopping.withLock { $0 } }

    /// One pass over the active libraries, a batch each; answers the sends settled (sent or not).
    @discardableResult
    public func runOnce() async throws -> Int {
        var settled = 0
        for tenant in try await activeTenants() where !isStopping {
            do {
                settled += try await deliverBatches(of: tenant, upTo: Self.batchesPerPass)
            } catch {
                logger.error("delivering a batch failed", metadata: ["tenant": "\(tenant.slug.value)", "error": "\(Migrator.describe(error))"])
            }
        }
        return settled
    }

    func activeTenants() async throws -> [Tenant] {
        let time = now()
        if let cached = tenants.withLock({ state in state.read.map { time.timeIntervalSince($0) < 30 } == true ? state.list : nil }) { return cached }
        let list = try await db.withPlatform { tx in try await TenantDirectory.list(in: tx) }.filter { $0.status == .active }
        tenants.withLock { $0 = (list, time) }
        return list
    }

    /// A mail ready to go, with its send.
    struct Outgoing: Sendable {
        let send: ClaimedSend
        let message: MailMessage
    }

    /// Batches a library gets in one pass over the libraries, so that one large campaign does not hold up the mail
    /// of the others for longer than a few seconds.
    static let batchesPerPass = 5

    /// Delivers up to `batches` batches of the library's queue, one after another; each next batch is claimed,
    /// checked and rendered while the one before it is on the wire. Answers the sends settled. Every send claimed
    /// here is settled (or handed back) before this returns, also when a graceful shutdown comes in between; only
    /// when an error ends it early do the sends of a batch claimed ahead wait for their lease to end.
    public func deliverBatches(of tenant: Tenant, upTo batches: Int) async throws -> Int {
        guard batches > 0, !isStopping, var batch = try await claimAndPrepare(tenant) else { return 0 }
        var settled = 0
        var taken = 1
        while true {
            let more = taken < batches && !isStopping
            async let following = more ? claimAndPrepare(tenant) : nil
            try await deliver(batch, of: tenant)
            settled += batch.claimed
            guard let next = try await following else { return settled }
            batch = next
            taken += 1
        }
    }

    /// Claimed sends, checked once more and rendered; the ones that may not go are already settled.
    struct PreparedBatch: Sendable {
        let claimed: Int
        let outgoing: [Outgoing]
        /// When the claim's lease ends (by `now`): from then on another claim may take the sends not yet marked.
        let leaseEnd: Date
    }

    func claimAndPrepare(_ tenant: Tenant) async throws -> PreparedBatch? {
        let start = now()
        let (settings, claimed) = try await db.withTenant(tenant) { tx in
            let settings = try await MailSettings.load(in: tx)
            let claimed = try await Sends.claim(
                limit: options.batchSize, worker: options.name, lease: options.lease,
                ratePerMinute: settings.ratePerMinute, now: start, in: tx)
            return (settings, claimed)
        }
        guard !claimed.isEmpty else { return nil }
        let (outgoing, notMailed) = try await db.withTenant(tenant) { tx in
            try await prepare(claimed, settings: settings, tenant: tenant, now: start, in: tx)
        }
        if !notMailed.isEmpty {
            try await db.withTenant(tenant) { tx in
                for (status, group) in Dictionary(grouping: notMailed, by: { $0.status }) {
                    for (reason, sends) in Dictionary(grouping: group, by: { $0.reason }) {
                        try await Sends.settle(sends.map(\.id), status: status, reason: reason, retryAt: nil, worker: options.name, in: tx)
                    }
                }
            }
        }
        return PreparedBatch(claimed: claimed.count, outgoing: outgoing, leaseEnd: start.addingTimeInterval(options.lease))
    }

    func deliver(_ batch: PreparedBatch, of tenant: Tenant) async throws {
        let outgoing = batch.outgoing
        // Split over the connections; each connection's mails go one after another, each marked sent before the
        // connection's next mail goes. Marks that arrive while one commits are written together in the next commit.
        let lanes = max(1, min(options.connections, outgoing.count))
        let report = LaneReport()
        let marks = SentMarks { [db, name = options.name, now] mails in
            try await db.withTenant(tenant) { tx in try await Sends.markSent(mails, worker: name, now: now(), in: tx) }
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                let mails = stride(from: lane, to: outgoing.count, by: lanes).map { outgoing[$0] }
                group.addTask {
                    _ = await self.transport.send(mails.map(\.message)) { index, result in
                        let send = mails[index].send
                        if case .sent = result {
                            if await self.markSent(mails[index], marks: marks, leaseEnd: batch.leaseEnd, tenant: tenant) {
                                report.marked.withLock { $0 += 1 }
                            }
                        } else {
                            report.items.withLock { $0.append((send, result)) }
                        }
                    }
                }
            }
        }
        await count(sent: report.marked.withLock { $0 }, tenant: tenant)
        let failed = report.items.withLock { $0 }
        if !failed.isEmpty { try await record(failed, tenant: tenant) }
    }

    /// Adds the mails just marked sent to the library's count of this minute (the console's sends per minute; the
    /// hourly prune removes counts older than two days). A count that cannot be written is logged and left: the mails
    /// are sent.
    func count(sent: Int, tenant: Tenant) async {
        guard sent > 0 else { return }
        let time = now()
        do {
            try await db.withPlatform { tx in
                try await tx.query(
                    """
                    INSERT INTO send_counts (tenant_id, minute, sent) VALUES (\(tenant.id), date_trunc('minute', \(time)::timestamptz), \(sent))
                    ON CONFLICT (tenant_id, minute) DO UPDATE SET sent = send_counts.sent + excluded.sent
                    """)
            }
        } catch {
            logger.warning(
                "the mails sent could not be counted for the health page",
                metadata: ["tenant": "\(tenant.slug.value)", "sent": "\(sent)", "error": "\(Migrator.describe(error))"])
        }
    }

    /// Marks a mail the relay took as sent. While the database is away (a restart, or an outage long enough for the
    /// pool to fail every lease at once) the mark is tried again, every 0.25 s doubling to 5 s, until it commits or the
    /// send's lease ends; meanwhile this connection sends nothing more. So an outage leaves at most one unmarked mail
    /// per connection, and marks it once the database is back. Only a mark still failing when the lease ends leaves
    /// the send to be claimed again and its mail to go twice (with the same Message-ID).
    /// Answers whether the mark committed.
    @discardableResult
    func markSent(_ mail: Outgoing, marks: SentMarks, leaseEnd: Date, tenant: Tenant) async -> Bool {
        // The lease left, on the monotonic clock: `now` may be a test's fixed clock.
        let deadline = ContinuousClock.now + .milliseconds(Int(max(0, leaseEnd.timeIntervalSince(now())) * 1000))
        var pause = Duration.milliseconds(250)
        var failures = 0
        while true {
            do {
                try await marks.mark(mail.send.id, messageID: mail.message.messageID)
                if failures > 0 {
                    logger.info(
                        "a sent mail was marked sent once the database answered again",
                        metadata: [
                            "tenant": "\(tenant.slug.value)", "send": "\(mail.send.id)", "failed_marks": "\(failures)",
                        ])
                }
                return true
            } catch {
                failures += 1
                guard ContinuousClock.now + pause < deadline, !Task.isCancelled else {
                    // The mail went; the send will be claimed again and the mail sent twice, so say so loudly.
                    logger.error(
                        "a sent mail could not be marked sent before its lease ended",
                        metadata: [
                            "tenant": "\(tenant.slug.value)", "send": "\(mail.send.id)", "error": "\(Migrator.describe(error))",
                        ])
                    return false
                }
                if failures == 1 {
                    logger.warning(
                        "a sent mail could not be marked sent yet; trying again until the database answers",
                        metadata: [
                            "tenant": "\(tenant.slug.value)", "send": "\(mail.send.id)", "error": "\(Migrator.describe(error))",
                        ])
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// What a batch's lanes report: the mails the relay refused or could not take, and how many were marked sent.
    final class LaneReport: Sendable {
        let items = Mutex<[(ClaimedSend, DeliveryResult)]>([])
        let marked = Mutex(0)
    }

    /// Group commit of "sent": `mark` returns once the send's mark has committed. The first mark starts a writer
    /// that commits everything waiting, then everything that arrived meanwhile, until nothing waits; so with four
    /// connections a commit holds up to four marks, and a connection never has more than one mail unmarked.
    ///
    /// A write that has not returned after `deadline` counts as failed, and the marks waiting on it are tried again
    /// (a mark is idempotent: it sets `sent` only on a send still `sending` for this worker). Seen after a database
    /// restart: one write's connection lease never returned while the pool served every other lease, and without the
    /// deadline it held up the whole send loop. The stuck write is left to end by itself.
    final class SentMarks: Sendable {
        typealias Write = @Sendable ([(id: UUID, messageID: String)]) async throws -> Void
        private struct Waiting {
            var marks: [(id: UUID, messageID: String, done: CheckedContinuation<Void, any Error>)] = []
            var writing = false
        }
        private let waiting = Mutex(Waiting())
        private let write: Write
        private let deadline: Duration

        init(deadline: Duration = .seconds(20), write: @escaping Write) {
            self.deadline = deadline
            self.write = write
        }

        struct WriteTimedOut: Error, CustomStringConvertible {
            let deadline: Duration
            var description: String { "marking sent mails did not return within \(deadline)" }
        }

        func mark(_ id: UUID, messageID: String) async throws {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let starts = waiting.withLock { state in
                    state.marks.append((id, messageID, done))
                    if state.writing { return false }
                    state.writing = true
                    return true
                }
                if starts { Task { await self.writeAll() } }
            }
        }

        private func writeAll() async {
            while true {
                let batch = waiting.withLock { state in
                    let batch = state.marks
                    state.marks = []
                    if batch.isEmpty { state.writing = false }
                    return batch
                }
                if batch.isEmpty { return }
                let marks = batch.map { ($0.id, $0.messageID) }
                let outcome = await Self.bounded(deadline) { [write] in try await write(marks) }
                switch outcome {
                case .success: for mark in batch { mark.done.resume() }
                case .failure(let error): for mark in batch { mark.done.resume(throwing: error) }
                }
            }
        }

        /// Runs `work` in a task of its own and waits for it at most `deadline`.
        static func bounded(_ deadline: Duration, _ work: @escaping @Sendable () async throws -> Void) async -> Result<Void, any Error> {
            let outcome = Outcome()
            return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, any Error>, Never>) in
                outcome.wait(continuation)
                let timer = Task {
                    try await Task.sleep(for: deadline)
                    outcome.settle(.failure(WriteTimedOut(deadline: deadline)))
                }
                Task {
                    do {
                        try await work()
                        outcome.settle(.success(()))
                    } catch {
                        outcome.settle(.failure(error))
                    }
                    timer.cancel()
                }
            }
        }

        /// The first of a write's end and its deadline.
        final class Outcome: Sendable {
            private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Result<Void, any Error>, Never>?)>((false, nil))

            func wait(_ continuation: CheckedContinuation<Result<Void, any Error>, Never>) {
                state.withLock { $0.waiter = continuation }
            }

            func settle(_ result: Result<Void, any Error>) {
                let waiter = state.withLock { state -> CheckedContinuation<Result<Void, any Error>, Never>? in
                    guard !state.done else { return nil }
                    state.done = true
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(returning: result)
            }
        }
    }

    struct NotMailed: Sendable {
        let id: UUID
        let status: String
        let reason: String
    }

    /// Checks each claimed send once more and renders the ones that may go.
    func prepare(
        _ claimed: [ClaimedSend], settings: MailSettings, tenant: Tenant, now: Date,
        in tx: TenantTransaction
    ) async throws -> ([Outgoing], [NotMailed]) {
        var campaigns: [UUID: Campaign] = [:]
        for id in Set(claimed.map(\.campaignID)) { campaigns[id] = try await Campaigns.find(id: id, in: tx) }
        var listTopics: [UUID: String] = [:]
        for campaign in campaigns.values where campaign.listID != nil {
            listTopics[campaign.id] = try await Snapshot.listKey(campaign, in: tx).map { "list:\($0)" }
        }
        var notMailed: [NotMailed] = []
        var candidates: [ClaimedSend] = []
        for send in claimed {
            if send.attempt > options.retry.maximumAttempts {
                notMailed.append(NotMailed(id: send.id, status: "failed", reason: "gave up after \(send.attempt - 1) attempts"))
            } else {
                candidates.append(send)
            }
        }
        // Suppression and consent, again: an unsubscribe or a bounce since the snapshot counts.
        let marketingEmails = candidates.filter { campaigns[$0.campaignID]?.purpose == .marketing }.map(\.email)
        let serviceEmails = candidates.filter { campaigns[$0.campaignID]?.purpose != .marketing }.map(\.email)
        let suppressed = try await Suppressions.suppressed(marketingEmails, marketing: true, in: tx)
            .union(try await Suppressions.suppressed(serviceEmails, marketing: false, in: tx))
        var allowed: [String: Set<Recipient>] = [:]
        for (topic, sends) in Dictionary(grouping: candidates, by: { listTopics[$0.campaignID] ?? "" }) {
            let customers = try await Sends.confirmed(sends.compactMap(\.recipient.customerID), topic: topic.isEmpty ? nil : topic, in: tx)
            let contacts = try await Sends.subscribedContacts(sends.compactMap(\.recipient.contactID), topic: topic.isEmpty ? nil : topic, in: tx)
            allowed[topic] = Set(customers.map(Recipient.customer)).union(contacts.map(Recipient.contact))
        }
        // Journey steps with a condition: the customer must match it when the step is due.
        var stepMatches: [String: Set<UUID>] = [:]
        let compiler = SegmentCompiler(today: CalendarDate(now))
        for (key, sends) in Dictionary(grouping: candidates, by: { "\($0.campaignID)#\($0.step)" }) {
            guard let send = sends.first, let steps = campaigns[send.campaignID]?.journey?.steps, send.step < steps.count,
                let condition = steps[send.step].condition
            else { continue }
            let compiled = try compiler.compile(condition)
            let rows = try await tx.query(
                sql: """
                    SELECT c.id FROM customers c WHERE c.id = ANY(\(sends.compactMap(\.recipient.customerID))) AND \(compiled.whereClause)
                    """)
            var matches: Set<UUID> = []
            for try await id in rows.decode(UUID.self) { matches.insert(id) }
            stepMatches[key] = matches
        }
        // A confirmation of a booking (a transactional mail naming a registration) goes only while the place is still
        // booked and the activity still to come: a booking cancelled, or an activity begun, since it was queued.
        func confirmedBooking(_ send: ClaimedSend) throws -> UUID? {
            guard campaigns[send.campaignID]?.kind == .transactional, let raw = send.context["registration_id"] else { return nil }
            return try UnreadableColumn.parse(raw, as: UUID.self, column: "context.registration_id") { UUID(uuidString: $0) }
        }
        let confirmed = try candidates.compactMap(confirmedBooking)
        var stillBooked: Set<UUID> = []
        if !confirmed.isEmpty {
            let rows = try await tx.query(
                """
                SELECT r.id FROM registrations r JOIN activities a ON a.id = r.activity_id
                WHERE r.id = ANY(\(confirmed)) AND r.status = 'booked' AND a.starts_at > \(now)
                """)
            for try await id in rows.decode(UUID.self) { stillBooked.insert(id) }
        }
        var mailable: [ClaimedSend] = []
        for send in candidates {
            let topic = listTopics[send.campaignID] ?? ""
            if suppressed.contains(send.email) {
                notMailed.append(NotMailed(id: send.id, status: "suppressed", reason: "address on the suppression list"))
            } else if allowed[topic]?.contains(send.recipient) != true {
                let gone = send.recipient.customerID == nil ? "contact deleted" : "customer erased or merged"
                notMailed.append(NotMailed(id: send.id, status: "suppressed", reason: topic.isEmpty ? gone : "no confirmed subscription"))
            } else if let matches = stepMatches["\(send.campaignID)#\(send.step)"], send.recipient.customerID.map(matches.contains) != true {
                notMailed.append(NotMailed(id: send.id, status: "skipped", reason: "the step's condition does not hold"))
            } else if let registration = try confirmedBooking(send), !stillBooked.contains(registration) {
                notMailed.append(NotMailed(id: send.id, status: "skipped", reason: "the booking was cancelled or the activity has begun"))
            } else {
                mailable.append(send)
            }
        }
        guard !mailable.isEmpty else { return ([], notMailed) }

        let contexts = try await RecipientContexts.load(mailable.map { ($0.recipient, $0.context) }, library: tenant.name, now: now, in: tx)
        let renderer = MailRenderer(layout: try await MailLayouts.load(in: tx))
        var contents: [String: TemplateContent] = [:]
        var outgoing: [Outgoing] = []
        for (index, send) in mailable.enumerated() {
            guard let campaign = campaigns[send.campaignID] else { continue }
            var subject = campaign.subject
            var templateID = campaign.templateID
            var version = campaign.templateVersion
            if let steps = campaign.journey?.steps, send.step < steps.count {
                templateID = steps[send.step].templateID
                subject = steps[send.step].subject ?? subject
                version = nil
            }
            if send.variant == "b", let b = campaign.subjectB { subject = b }
            do {
                guard let templateID else {
                    throw CampaignError.invalid([FieldError(field: "template_id", message: "The campaign has no template.")])
                }
                let key = "\(templateID)#\(version ?? 0)"
                let content: TemplateContent
                if let cached = contents[key] {
                    content = cached
                } else {
                    content = try await Templates.content(id: templateID, version: version, in: tx).content
                    contents[key] = content
                }
                var context = contexts[index]
                let marketing = campaign.purpose == .marketing
                let unsubscribe = links.unsubscribe(tenant: tenant.slug.value, sendID: send.id, now: now)
                context.links["unsubscribe_url"] = unsubscribe
                // The preference centre is a customer's (lists, branch, genres); a contact's mail has the unsubscribe link.
                if let customerID = send.recipient.customerID {
                    context.links["preferences_url"] = links.preferences(tenant: tenant.slug.value, customerID: customerID, now: now)
                }
                if campaign.journey?.trigger == .thirdHalf, let raw = send.context["registration_id"] {
                    let registrationID = try UnreadableColumn.parse(raw, as: UUID.self, column: "context.registration_id") { UUID(uuidString: $0) }
                    context.links["evaluation_url"] = links.evaluate(tenant: tenant.slug.value, registrationID: registrationID, now: now)
                }
                let tracking =
                    settings.tracking
                    ? LinkTracking(
                        rewrite: { [links, slug = tenant.slug.value, id = send.id] url in links.click(tenant: slug, sendID: id, url: url, now: now) },
                        openPixelURL: links.openPixel(tenant: tenant.slug.value, sendID: send.id, now: now)) : nil
                let rendered = try renderer.render(content, subject: subject, context: context, tracking: tracking)
                guard let fromAddress = campaign.fromAddress ?? settings.fromAddress else {
                    throw CampaignError.invalid([FieldError(field: "from_address", message: "The library has no sender address.")])
                }
                let from = try MailAddress(fromAddress, name: campaign.fromName ?? settings.fromName ?? tenant.name)
                let replyTo = try (campaign.replyTo ?? settings.replyTo).map { try MailAddress($0) }
                let message = try MailMessage(
                    from: from, replyTo: replyTo, to: try MailAddress(send.email), subject: rendered.subject, text: rendered.text,
                    html: rendered.html,
                    extraHeaders: [("X-Kring-Campaign", campaign.id.uuidString.lowercased())],
                    unsubscribeURL: marketing ? URL(string: unsubscribe) : nil, oneClickUnsubscribe: marketing,
                    messageID: "\(send.id.uuidString.lowercased())@\(from.messageIDDomain)")
                outgoing.append(Outgoing(send: send, message: message))
            } catch {
                notMailed.append(NotMailed(id: send.id, status: "failed", reason: "cannot build the mail: \(Migrator.describe(error))"))
            }
        }
        return (outgoing, notMailed)
    }

    /// Temporary failures go back to the queue after the retry delay; permanent ones fail the send (a 5xx for the
    /// recipient counts as a hard bounce of that mail).
    func record(_ failed: [(ClaimedSend, DeliveryResult)], tenant: Tenant) async throws {
        let time = now()
        try await db.withTenant(tenant) { tx in
            for (send, result) in failed {
                let reason = String((result.failure?.description ?? "unknown").prefix(500))
                switch result {
                case .temporaryFailure:
                    let retryAt = options.retry.nextAttempt(afterFailedAttempts: send.attempt, now: time)
                    try await Sends.settle([send.id], status: "failed", reason: reason, retryAt: retryAt, worker: options.name, in: tx)
                case .permanentFailure(let failure):
                    try await Sends.settle([send.id], status: "failed", reason: reason, retryAt: nil, worker: options.name, in: tx)
                    if failure.stage == .rcptTo {
                        // From the send as it still is: a contact deleted meanwhile took their sends along.
                        try await tx.query(
                            """
                            INSERT INTO campaign_events (campaign_id, customer_id, contact_id, kind, at, send_id, detail)
                            SELECT s.campaign_id, s.customer_id, s.contact_id, 'bounced_hard', \(time), s.id, jsonb_build_object('reply', \(reason))
                            FROM sends s WHERE s.id = \(send.id)
                            """)
                    }
                case .sent:
                    break
                }
            }
        }
    }
}
