import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringMail
import KringTestSupport
import PostgresNIO
import Testing

/// Bounce and complaint reports suppress addresses in the library they are ingested for, and only there.
@Suite struct IngestDSNTests {
    static let today = CalendarDate(year: 2026, month: 11, day: 27)!
    static let now = Date(timeIntervalSince1970: 1_795_780_800)

    func setUp() async throws -> (TestEnvironment, Tenant, Tenant) {
        let env = try await TestEnvironment.forSuite("IngestDSN")
        return (env, try await env.createTenant("mail-a"), try await env.createTenant("mail-b"))
    }

    func customer(email: String, in tenant: Tenant, _ env: TestEnvironment) async throws -> UUID {
        var draft = CustomerDraft(roles: ["visitor"])
        draft.firstName = "Piet"
        draft.lastName = "Bakker"
        draft.email = email
        let valid = try draft.validate(today: Self.today)
        return try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: Self.now, in: tx).id }
    }

    /// What `kring mail ingest-dsn` does with a parsed report: suppress hard bounces and complaints.
    func ingest(_ sample: String, into tenant: Tenant, _ env: TestEnvironment) async throws -> [Suppressions.Outcome] {
        let report = try DSNParser.parse(Array(sample.utf8))
        return try await env.db.withTenant(tenant) { tx in
            var outcomes: [Suppressions.Outcome] = []
            for recipient in report.recipients where recipient.kind.suppresses {
                let reason: Suppressions.Reason = recipient.kind == .complaint ? .complaint : .hardBounce
                outcomes.append(
                    try await Suppressions.suppress(
                        EmailAddress(recipient.address)!, reason: reason, detail: recipient.diagnosticCode,
                        by: .system, now: Self.now, in: tx))
            }
            return outcomes
        }
    }

    func suppressions(_ tenant: Tenant, _ env: TestEnvironment) async throws -> [(Data, String)] {
        try await env.db.withTenant(tenant) { tx in
            var rows: [(Data, String)] = []
            for try await (hash, reason) in try await tx.query("SELECT email_sha256, reason FROM suppressions ORDER BY reason").decode(
                (Data, String).self)
            {
                rows.append((hash, reason))
            }
            return rows
        }
    }

    func events(_ customerID: UUID, in tenant: Tenant, _ env: TestEnvironment) async throws -> [String] {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                "SELECT event FROM contact_moments WHERE customer_id = \(customerID) AND kind = 'system' AND event LIKE 'mail.%' ORDER BY occurred_at"
            )
            .decode(String.self).reduce(into: []) { $0.append($1) }
        }
    }

    @Test func hardBounceSuppressesTheAddressInThatLibraryOnly() async throws {
        let (env, a, b) = try await setUp()
        let inA = try await customer(email: "piet.bakker@example.nl", in: a, env)
        let inB = try await customer(email: "piet.bakker@example.nl", in: b, env)

        let outcomes = try await ingest(DSNSamples.postfixHardBounce, into: a, env)
        #expect(outcomes == [Suppressions.Outcome(added: true, customerIDs: [inA])])

        let rows = try await suppressions(a, env)
        #expect(rows.count == 1)
        #expect(rows.first?.0 == CustomerPrivacy.emailHash("piet.bakker@example.nl"))
        #expect(rows.first?.1 == "hard_bounce")
        #expect(try await events(inA, in: a, env) == ["mail.bounced"])
        let audited = try await env.db.withTenant(a) { tx in
            try await tx.query("SELECT action FROM audit_log WHERE action IN ('suppression.added', 'mail.bounced') ORDER BY id").decode(String.self)
                .reduce(into: [String]()) { $0.append($1) }
        }
        #expect(audited == ["suppression.added", "mail.bounced"])
        let reason = try await env.db.withTenant(a) { tx in try await Suppressions.reason(for: EmailAddress("Piet.Bakker@example.nl")!, in: tx) }
        #expect(reason == "hard_bounce")

        // Library B holds the same person and address: untouched.
        #expect(try await suppressions(b, env).isEmpty)
        #expect(try await events(inB, in: b, env).isEmpty)

        // The same report again changes nothing.
        #expect(try await ingest(DSNSamples.postfixHardBounce, into: a, env) == [Suppressions.Outcome(added: false, customerIDs: [])])
        #expect(try await events(inA, in: a, env) == ["mail.bounced"])
        #expect(try await suppressions(a, env).count == 1)
    }

    @Test func complaintSuppressesAndSoftBouncesDoNot() async throws {
        let (env, a, _) = try await setUp()
        let marieke = try await customer(email: "marieke@example.nl", in: a, env)
        let vol = try await customer(email: "vol@example.nl", in: a, env)

        #expect(try await ingest(DSNSamples.postfixDelayed, into: a, env).isEmpty)
        #expect(try await events(vol, in: a, env).isEmpty)

        let outcomes = try await ingest(DSNSamples.arfComplaint, into: a, env)
        #expect(outcomes == [Suppressions.Outcome(added: true, customerIDs: [marieke])])
        let rows = try await suppressions(a, env)
        #expect(rows.map(\.1) == ["complaint"])
        #expect(rows.first?.0 == CustomerPrivacy.emailHash("marieke@example.nl"))
        #expect(try await events(marieke, in: a, env) == ["mail.complaint"])
    }

    @Test func anAddressWithoutCustomersIsStillSuppressed() async throws {
        let (env, a, _) = try await setUp()
        let outcomes = try await ingest(DSNSamples.exchangeHardBounce, into: a, env)
        #expect(outcomes == [Suppressions.Outcome(added: true, customerIDs: [])])
        #expect(try await suppressions(a, env).map(\.0) == [CustomerPrivacy.emailHash("k.dejong@gemeente.example")])
    }

    /// The command line end to end: `kring mail ingest-dsn --tenant ... < report`.
    @Test func kringMailIngestDSNCommand() async throws {
        let (env, a, b) = try await setUp()
        let customerID = try await customer(email: "piet.bakker@example.nl", in: a, env)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = ProcessInfo.processInfo.environment["KRING_TEST_BINARY"] ?? root.appendingPathComponent(".build/debug/kring").path
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build kring first (swift build --build-tests)")

        let host = await TestDatabase.shared.host
        let port = await TestDatabase.shared.port
        let url = "postgres://kring_owner@\(host):\(port)/\(env.databaseName)?sslmode=disable"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["mail", "ingest-dsn", "--tenant", a.slug.value]
        process.environment = ["KRING_OWNER_DATABASE_URL": url, "KRING_LOG_LEVEL": "error", "PATH": "/usr/bin:/bin"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(DSNSamples.postfixHardBounce.utf8))
        try input.fileHandleForWriting.close()
        try await SMTPSink.waitForExit(process, seconds: 120)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(printed)")
        #expect(printed.contains("piet.bakker@example.nl: suppressed (hard_bounce), 1 customer(s) noted"))
        #expect(try await suppressions(a, env).map(\.1) == ["hard_bounce"])
        #expect(try await events(customerID, in: a, env) == ["mail.bounced"])
        #expect(try await suppressions(b, env).isEmpty)
    }
}
