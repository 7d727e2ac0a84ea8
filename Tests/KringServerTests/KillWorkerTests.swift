import Foundation
import KringCampaigns
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

/// Real `kring worker` processes share a 10,000-recipient campaign; one is killed (SIGKILL) mid-way, another
/// stopped gracefully (SIGTERM), a third finishes. Nothing is lost and nobody gets the campaign twice.
@Suite struct KillWorkerTests {
    static var kringBinary: URL {
        if let path = ProcessInfo.processInfo.environment["KRING_TEST_BINARY"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kring")
    }

    static func startWorker(_ name: String, env: TestEnvironment, sink: SMTPSink, secret: URL, log: URL) async throws -> Process {
        let (host, port) = (await TestDatabase.shared.host, await TestDatabase.shared.port)
        let process = Process()
        process.executableURL = kringBinary
        process.arguments = ["worker"]
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "KRING_DATABASE_URL": "postgres://kring_app@\(host):\(port)/\(env.databaseName)?sslmode=disable",
            "KRING_SMTP_URL": "smtp://127.0.0.1:\(sink.port)?tls=none&helo=kring.test",
            "KRING_LINK_SECRET_FILE": secret.path,
            "KRING_PUBLIC_URL": "https://kring.test",
            "KRING_WORKER_NAME": name,
            "KRING_SEND_LEASE_SECONDS": "4",
            "KRING_SEND_BATCH": "100",
            "KRING_LOG_LEVEL": "warning",
        ]
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitUntil(seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 10) {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func receivedCount(_ sink: SMTPSink) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: sink.folder.appendingPathComponent("messages").path).filter { $0.hasSuffix(".json") }
            .count) ?? 0
    }

    @Test func killingAWorkerMidCampaignLosesNothingAndMailsNobodyTwice() async throws {
        let library = try await MailLibrary.make("KillWorker", clock: TestClock(Date()))
        let recipients = 10_000
        try await library.env.db.withTenant(library.tenant) { tx in
            let now = Date()
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name, email,
                                       created_at, updated_at)
                SELECT gen_random_uuid(), '{member}', 'K' || n, 'adult', 'active', '2020-01-01', 'Lid' || n, 'Test', 'lid' || n || '@example.nl', \(now), \(now)
                FROM generate_series(1, \(recipients)) n
                """)
            try await tx.query(
                """
                INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
                SELECT id, \("list:" + library.listKey), 'confirmed', \(now), 'staff', 'v1', \(now) FROM customers
                """)
        }
        let campaign = try await library.campaign(CampaignDraft(name: "Grote nieuwsbrief", listID: library.list, templateID: library.template))
        #expect(campaign.recipients == recipients)

        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let secret = sink.folder.appendingPathComponent("link-secret")
        try Data(repeating: 7, count: 32).write(to: secret)
        let first = try await Self.startWorker(
            "killed", env: library.env, sink: sink, secret: secret, log: sink.folder.appendingPathComponent("killed.log"))
        #expect(try await Self.waitUntil(seconds: 900) { Self.receivedCount(sink) >= 1_000 })
        kill(first.processIdentifier, SIGKILL)
        try await SMTPSink.waitForExit(first, seconds: 10)
        let atKill = Self.receivedCount(sink)
        // Two workers share the rest; one of them is stopped gracefully half-way.
        let second = try await Self.startWorker(
            "stopped", env: library.env, sink: sink, secret: secret, log: sink.folder.appendingPathComponent("stopped.log"))
        let third = try await Self.startWorker(
            "finisher", env: library.env, sink: sink, secret: secret, log: sink.folder.appendingPathComponent("finisher.log"))
        defer { if third.isRunning { third.terminate() } }
        #expect(try await Self.waitUntil(seconds: 900) { Self.receivedCount(sink) >= atKill + 1_000 })
        second.terminate()
        try await SMTPSink.waitForExit(second, seconds: 30)
        #expect(second.terminationStatus == 0)
        let done = try await Self.waitUntil(seconds: 1_200) {
            try await library.env.db.withTenant(library.tenant) { tx in
                try await tx.query("SELECT count(*) FROM sends WHERE campaign_id = \(campaign.id) AND status = 'sent'").decode(Int.self).reduce(0, +)
            } == recipients
        }
        #expect(done)
        third.terminate()
        try await SMTPSink.waitForExit(third, seconds: 30)

        let received = try sink.received()
        var messageIDs: [String: Set<String>] = [:]
        for mail in received {
            for recipient in mail.recipients { messageIDs[recipient, default: []].insert(mail.header("Message-ID") ?? "") }
        }
        // Every recipient got the campaign, each as exactly one message.
        #expect(messageIDs.count == recipients)
        #expect(messageIDs.values.allSatisfy { $0.count == 1 })
        // A second copy of a message can only be one the killed worker had handed to the relay but not yet marked
        // sent: at most one per connection it held.
        let copies = received.count - recipients
        #expect(copies >= 0 && copies <= SendWorker.Options().connections, "copies of a message after the kill: \(copies)")
        print("kill test: \(received.count) deliveries for \(recipients) recipients (\(copies) repeated after SIGKILL), \(atKill) before the kill")
        let statuses = try await library.sendStatuses(campaign.id)
        #expect(Set(statuses.values) == ["sent"])
    }
}
