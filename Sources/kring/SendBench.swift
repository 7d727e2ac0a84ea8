import ArgumentParser
import Foundation
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import Logging
import PostgresNIO

/// `kring bench send --recipients N`: N subscribers in a scratch tenant, a campaign snapshotted, rendered and
/// delivered to a local SMTP sink by one worker, then (a second campaign) by two workers sharing the queue.
struct SendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send", abstract: "Time snapshot, rendering and delivery of a campaign.")
    @Option var recipients = 100_000
    @Option(help: "The relay; without it a local sink that counts the mails is started for the run.") var smtp: String?
    @Option(
        help:
            "The local sink: `minimal` (Deploy/smtp-count-sink.py, plain asyncio, least CPU) or `aiosmtpd` (Deploy/smtp-sink.py --count-only, the tests' server)."
    )
    var sink = "minimal"
    @Option(help: "SMTP connections per worker.") var connections = SendWorker.Options().connections
    @Option(help: "Sends a worker claims at a time.") var batch = SendWorker.Options().batchSize

    func run() async throws {
        let env = Environment()
        let logger = env.logger
        let slug = TenantSlug("bench-\(UInt32.random(in: 0...UInt32.max) % 1_000_000)")!
        let now = Date()
        guard ["minimal", "aiosmtpd"].contains(self.sink) else { throw ValidationError("--sink takes minimal or aiosmtpd") }
        let sink = smtp == nil ? try await CountingSink.start(aiosmtpd: self.sink == "aiosmtpd") : nil
        defer { sink?.stop() }
        let relay = smtp ?? "smtp://127.0.0.1:\(sink!.port)?tls=none&helo=bench.kring&max_per_connection=100000"
        let links = PublicLinks(baseURL: "https://kring.bench", signer: try LinkSigner(secret: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))

        try await Bench.withScratchDatabase(env, maxConnections: 2 * connections + 4) { owner in
            let tenant = try await owner.withPlatform { tx in
                try await TenantProvisioner.loaded(owner: owner)
                    .create(slug: slug, name: "Bibliotheek Benchmark", now: now, in: tx)
            }
            let (list, template) = try await generate(tenant: tenant, owner: owner, now: now)
            print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            for workers in [1, 2] {
                let campaign = try await owner.withTenant(tenant) { tx in
                    try await Campaigns.create(
                        CampaignDraft(
                            name: "Bench \(workers)", listID: list, templateID: template,
                            subject: "Nieuws voor {{customer.first_name}}"), by: .system, now: Date(), in: tx)
                }
                let snapshotStart = ContinuousClock.now
                let started = try await owner.withTenant(tenant) { tx in
                    try await Campaigns.schedule(id: campaign.id, at: nil, by: .system, now: Date(), in: tx)
                }
                let snapshot = ContinuousClock.now - snapshotStart
                let transport = try MailTransports.from(url: relay, logger: logger)
                let senders = (1...workers).map { index in
                    var options = SendWorker.Options()
                    options.name = "bench-\(index)"
                    options.connections = connections
                    options.batchSize = batch
                    return SendWorker(db: owner, transport: transport, links: links, options: options, now: { Date() }, logger: logger)
                }
                let deliveryStart = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sender in senders {
                        group.addTask { while try await sender.deliverBatches(of: tenant, upTo: 10) > 0 {} }
                    }
                    try await group.waitForAll()
                }
                let delivery = ContinuousClock.now - deliveryStart
                // Every send is counted by its final status, so the rate below is over all of them or says why not.
                let statuses = try await Bench.statusCounts(campaign: campaign.id, tenant: tenant, owner: owner)
                let sent = statuses.first { $0.status == "sent" }?.count ?? 0
                let total = snapshot + delivery
                print("\(workers) worker\(workers == 1 ? "" : "s") (\(connections) SMTP connections and batches of \(batch) each, one process):")
                print("  snapshot of \(started.recipients ?? 0) recipients: \(format(snapshot)) s")
                print(
                    "  sends by final status: \(statuses.map { "\($0.count) \($0.status)" }.joined(separator: ", ")) (of \(started.recipients ?? 0))")
                print(
                    "  render + deliver + mark sent: \(sent) mails in \(format(delivery)) s = \(Int(Double(sent) / max(Bench.seconds(delivery), 0.001))) mails/s"
                )
                print("  snapshot to last mail: \(Int(Double(sent) / max(Bench.seconds(total), 0.001))) mails/s")
                print("  peak memory of this process so far (max RSS): \(ImportBench.peakRSSMegabytes()) MB")
            }
            if let sink { print("the sink counted \(sink.count()) messages") }
        }
    }

    /// Subscribers with first names, favourite branches and genres; a list and a personalised template.
    private func generate(tenant: Tenant, owner: Database, now: Date) async throws -> (list: UUID, template: UUID) {
        let list = UUID()
        var template = UUID()
        try await owner.withTenant(tenant) { tx in
            try await tx.query(
                "INSERT INTO branches (id, name, municipality, created_at) VALUES (gen_random_uuid(), 'Centrale Bibliotheek', 'Haarlem', \(now))")
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name, email,
                                       favourite_branch_id, genres, created_at, updated_at)
                SELECT gen_random_uuid(), '{member}', 'B' || n, 'adult', 'active', DATE '2015-01-01' + (n % 3000)::int, 'Lid' || n, 'Jansen',
                       'lid' || n || '@bench.example', (SELECT id FROM branches LIMIT 1), ARRAY['thriller'], \(now), \(now)
                FROM generate_series(1, \(recipients)) n
                """)
            try await tx.query(
                """
                INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
                VALUES (\(list), 'nieuwsbrief', 'Nieuwsbrief', 'Ja, stuur mij de nieuwsbrief.', 'v1', \(now), \(now))
                """)
            try await tx.query(
                """
                INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
                SELECT id, 'list:nieuwsbrief', 'confirmed', \(now), 'staff', 'v1', \(now) FROM customers
                """)
            template = try await Templates.create(
                TemplateDraft(
                    name: "Nieuwsbrief", subject: "Nieuws",
                    html:
                        "<h1>Hallo {{customer.first_name}}</h1><p>Nieuw in {{branch.name}}:</p>{{#activities}}<p>{{title}}, {{when}}</p>{{/activities}}"
                        + "<p><a href=\"https://bibliotheek.example/agenda\">Agenda</a> · <a href=\"{{unsubscribe_url}}\">Afmelden</a></p>",
                    text:
                        "Hallo {{customer.first_name}}, nieuw in {{branch.name}}. Agenda: https://bibliotheek.example/agenda  Afmelden: {{unsubscribe_url}}"
                ),
                by: .system, now: now, in: tx
            ).id
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_address', '\"nieuws@bench.example\"', \(now))")
        }
        try await owner.withPlatform { tx in
            _ = try await tx.query(
                PostgresQuery(
                    unsafeSQL:
                        "ANALYZE \(tenant.slug.schema.quoted).customers, \(tenant.slug.schema.quoted).consents, \(tenant.slug.schema.quoted).consent_state"
                ))
        }
        return (list, template)
    }

    private func format(_ duration: Duration) -> String { String(format: "%.2f", Bench.seconds(duration)) }
}

/// A local SMTP sink that counts what it takes (`Deploy/smtp-count-sink.py`, or `Deploy/smtp-sink.py --count-only`), for the length of a benchmark.
final class CountingSink: Sendable {
    let port: Int
    let folder: URL
    let process: Process
    let input: Pipe

    private init(port: Int, folder: URL, process: Process, input: Pipe) {
        self.port = port
        self.folder = folder
        self.process = process
        self.input = input
    }

    static func start(aiosmtpd: Bool) async throws -> CountingSink {
        let path = aiosmtpd ? "Deploy/smtp-sink.py" : "Deploy/smtp-count-sink.py"
        guard let script = ProjectFiles.locate(path) else { throw ValidationError("\(path) not found; give --smtp") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-bench-sink-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [script.path, "--dir", folder.path, "--ready-file", folder.appendingPathComponent("port").path]
            + (aiosmtpd ? ["--count-only", "--pipelining"] : [])
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 {
            if let text = try? String(contentsOf: folder.appendingPathComponent("port"), encoding: .utf8), let port = Int(text) {
                return CountingSink(port: port, folder: folder, process: process, input: input)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ValidationError(aiosmtpd ? "the SMTP sink did not start (python3-aiosmtpd installed?)" : "the SMTP sink did not start")
    }

    /// Stops the sink and answers how many messages it took.
    func count() -> Int {
        stop()
        return (try? String(contentsOf: folder.appendingPathComponent("count"), encoding: .utf8)).flatMap { Int($0) } ?? -1
    }

    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
