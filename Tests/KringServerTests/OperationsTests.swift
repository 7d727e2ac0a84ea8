import Foundation
import HummingbirdTesting
import KringAuth
import KringB2C
import KringDatabase
import KringServer
import KringTestSupport
import Logging
import Testing

@Suite struct OperationsTests {
    @Test func healthAndMetrics() async throws {
        let env = try await TestEnvironment.forSuite("Operations")
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            #expect(try await client.send(.get, "/health/live").status == .ok)
            let ready = try await client.send(.get, "/health/ready")
            #expect(ready.status == .ok)
            #expect(ready["migrations"] as? String == "current")
            _ = try await client.send(.get, "/api/v1/nowhere")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("kring_job_queue_depth"))
            #expect(metrics.text.contains("kring_db_connections_in_use"))
            #expect(metrics.text.contains("hb_requests"))
        }
    }

    @Test func readinessFailsWhenATenantLacksMigrations() async throws {
        let env = try await TestEnvironment.forSuite("OperationsPending")
        let tenant = try await env.createTenant("p")
        try await env.owner.withPlatform { tx in
            try await tx.query("DELETE FROM schema_migrations WHERE schema_name = \(tenant.slug.schema.name)")
        }
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let ready = try await client.send(.get, "/health/ready")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready["migrations"] as? String == "pending")
        }
    }

    /// The contract test: every registered route is in openapi.yaml, and the document names no route that does not exist.
    @Test func openAPIDocumentListsEveryRoute() async throws {
        let env = try await TestEnvironment.forSuite("Operations")
        let router = buildRouter(try await env.services(clock: TestClock()))
        let registered = Set(
            router.routes.map { route in
                let path =
                    "/"
                    + route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(
                        separator: "/")
                return "\(route.method.rawValue.lowercased()) \(path)"
            })
        let url = try #require(ProjectFiles.locate("openapi.yaml"))
        var documented = Set<String>()
        var currentPath: String?
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: /^  (\/\S*):\s*$/) {
                currentPath = String(match.1)
            } else if let match = line.wholeMatch(of: /^    (get|post|put|patch|delete):\s*$/), let currentPath {
                documented.insert("\(match.1) \(currentPath)")
            } else if !line.hasPrefix(" ") && !line.isEmpty {
                currentPath = nil
            }
        }
        #expect(registered.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(registered.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(registered).isEmpty, "openapi.yaml names routes that do not exist: \(documented.subtracting(registered).sorted())")
        try await env.application(try await env.services(clock: TestClock())).test(.router) { client in
            let served = try await client.send(.get, "/api/v1/openapi.yaml")
            #expect(served.status == .ok)
            #expect(served.text.hasPrefix("openapi: 3.1"))
        }
    }

    /// The document's Permission enum is the permission matrix's: `GET /me` lists permissions by these names.
    @Test func openAPIPermissionsAreTheMatrixPermissions() throws {
        let url = try #require(ProjectFiles.locate("openapi.yaml"))
        let text = try String(contentsOf: url, encoding: .utf8)
        let start = try #require(text.range(of: "    Permission:\n      type: string\n      enum: ["))
        let end = try #require(text[start.upperBound...].firstIndex(of: "]"))
        let documented = Set(
            text[start.upperBound..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(["'"])) })
        #expect(documented == Set(Permission.allCases.map(\.rawValue)))
    }

    @Test func workerRunsJobsAndRetriesFailures() async throws {
        let env = try await TestEnvironment.forSuite("Worker")
        let clock = TestClock(Date(timeIntervalSince1970: 1_950_000_000))
        let ok = "test.ok.\(UUID())"
        let broken = "test.broken.\(UUID())"
        let elsewhere = "test.elsewhere.\(UUID())"
        let ids = try await env.db.withPlatform { tx in
            (
                try await JobQueue.enqueue(kind: ok, runAt: clock.now, in: tx),
                try await JobQueue.enqueue(kind: broken, runAt: clock.now, maxAttempts: 3, in: tx),
                try await JobQueue.enqueue(kind: elsewhere, runAt: clock.now, maxAttempts: 1, in: tx)
            )
        }
        struct Broken: Error {}
        let worker = JobWorker(
            queue: JobQueue(db: env.db), handlers: [ok: { _ in }, broken: { _ in throw Broken() }],
            now: clock.closure, logger: Logger(label: "worker-test"))
        // A worker claims only the kinds it can run: another worker's job (mail, say, without a relay here) waits for it.
        #expect(try await worker.runOnce() == 2)
        func states() async throws -> [Int64: String] {
            try await env.db.withPlatform { tx in
                var states: [Int64: String] = [:]
                for try await (id, status) in try await tx.query("SELECT id, status FROM jobs WHERE id IN (\(ids.0), \(ids.1), \(ids.2))").decode(
                    (Int64, String).self)
                {
                    states[id] = status
                }
                return states
            }
        }
        #expect(try await states() == [ids.0: "done", ids.1: "queued", ids.2: "queued"])
        let other = JobWorker(queue: JobQueue(db: env.db), handlers: [elsewhere: { _ in }], now: clock.closure, logger: Logger(label: "worker-test"))
        #expect(try await other.runOnce() == 1)
        #expect(try await states() == [ids.0: "done", ids.1: "queued", ids.2: "done"])
        #expect(try await worker.runOnce() == 0)
        clock.advance(by: 2)
        #expect(try await worker.runOnce() == 1)
    }
}

@Suite struct PruneJobTests {
    @Test func pruneRemovesExpiredSessionsAndReschedulesItself() async throws {
        let env = try await TestEnvironment.forSuite("Prune")
        let clock = TestClock(Date(timeIntervalSince1970: 1_960_000_000))
        let tenant = try await env.createTenant("p")
        let user = try await env.createUser(in: tenant, role: .analyst)
        let (old, fresh) = try await env.db.withPlatform { tx in
            let old = try await Sessions.start(
                userID: user.id, tenantID: tenant.id, now: clock.now.addingTimeInterval(-Sessions.lifetime - 2 * 86400), in: tx)
            let fresh = try await Sessions.start(userID: user.id, tenantID: tenant.id, now: clock.now, in: tx)
            try await PlatformJobs.schedulePrune(at: clock.now, in: tx)
            try await PlatformJobs.schedulePrune(at: clock.now, in: tx)
            // Sends-per-minute counts: three days old (goes) and an hour old (stays).
            for hoursAgo in [72.0, 1] {
                try await tx.query(
                    """
                    INSERT INTO send_counts (tenant_id, minute, sent)
                    VALUES (\(tenant.id), \(clock.now.addingTimeInterval(-hoursAgo * 3600)), 5)
                    """)
            }
            return (old.sessionID, fresh.sessionID)
        }
        let worker = JobWorker(
            queue: JobQueue(db: env.db), handlers: PlatformJobs.handlers(db: env.db, now: clock.closure),
            now: clock.closure, logger: Logger(label: "prune-test"))
        #expect(try await worker.runOnce() == 1)
        let remaining = try await env.db.withPlatform { tx in
            try await tx.query("SELECT id FROM refresh_token_families WHERE id IN (\(old), \(fresh))").decode(UUID.self).reduce(into: Set<UUID>()) {
                $0.insert($1)
            }
        }
        #expect(remaining == [fresh])
        let counts = try await env.db.withPlatform { tx in
            try await tx.query("SELECT minute FROM send_counts WHERE tenant_id = \(tenant.id)").decode(Date.self).reduce(into: [Date]()) {
                $0.append($1)
            }
        }
        #expect(counts.count == 1 && counts.first.map { clock.now.timeIntervalSince($0) < 2 * 3600 } == true)
        #expect(try await worker.runOnce() == 0)
        clock.advance(by: PlatformJobs.pruneInterval)
        #expect(try await worker.runOnce() == 1)
    }
}

@Suite struct ImportRouteTests {
    @Test func anUploadedExportIsImportedByTheWorkerWithProgressAndReport() async throws {
        let env = try await TestEnvironment.forSuite("ImportRoute")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("up")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let key = try await env.db.withPlatform { tx in
            try await APIKeys.create(
                tenantID: tenant.id, name: "wise", scopes: ["imports:write"], expiresAt: nil, environment: "test",
                createdBy: admin.id, now: clock.now, in: tx)
        }
        let csv = "Lenernummer;Lenerscategorie;Achternaam;Postcode\n500001;Jeugd;Smit;2011 AB\n500002;Onbekend;Bos;2011 AB\n"
        let app = env.application(try await env.services(clock: clock))
        let id: String = try await app.test(.router) { client in
            let uploaded = try await client.send(.post, "/api/v1/imports", token: key.secret, rawBody: csv)
            #expect(uploaded.status == .accepted)
            #expect(uploaded["status"] as? String == "queued")
            return try #require(uploaded["id"] as? String)
        }
        let worker = JobWorker(
            queue: JobQueue(db: env.db), handlers: B2CJobs.handlers(db: env.db, now: clock.closure),
            now: clock.closure, logger: Logger(label: "import-test"))
        #expect(try await worker.runOnce() == 1)
        try await app.test(.router) { client in
            let run = try await client.send(.get, "/api/v1/imports/\(id)", token: key.secret)
            #expect(run["status"] as? String == "done")
            #expect(run["rows_total"] as? Int == 2)
            #expect(run["rows_done"] as? Int == 2)
            let report = try #require(run["report"] as? [String: Any])
            #expect(report["inserted"] as? Int == 1)
            #expect(report["rejected"] as? Int == 1)
            #expect((report["errors"] as? [[String: Any]])?.first?["line"] as? Int == 3)
            // The uploaded file is not kept once imported.
            let kept = try await env.db.withTenant(tenant) { tx in
                try await tx.query("SELECT count(*)::int FROM imports WHERE file IS NOT NULL").decode(Int.self).reduce(0, +)
            }
            #expect(kept == 0)
        }
    }

    // Its own database: the worker of the other test would take this upload's job from a shared queue.
    @Test func aTicketingExportIsImportedAsRegistrationsAndAnUnknownKindIsRefused() async throws {
        let env = try await TestEnvironment.forSuite("ImportRouteTickets")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("tix")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let csv =
            "Evenement;Datum;Aanvang;Voornaam;Achternaam;E-mail;Status\nVoorleesuurtje;05-12-2026;10:00;Lotte;Smit;lotte@example.nl;betaald\n"
            + "Voorleesuurtje;05-12-2026;10:00;Mia;Mol;mia@example.nl;kwijt\n"
        let app = env.application(try await env.services(clock: clock))
        let (id, token): (String, String) = try await app.test(.router) { client in
            let token = try await client.login(email: admin.email, tenant: tenant.slug.value).access
            let refused = try await client.send(.post, "/api/v1/imports?kind=loans", token: token, rawBody: csv)
            #expect(refused.status == .unprocessableContent)
            let badMapping = try await client.send(
                .post, "/api/v1/imports?kind=registrations&mapping=%7B%22columns%22%3A1%7D", token: token, rawBody: csv)
            #expect(badMapping.status == .unprocessableContent)
            let uploaded = try await client.send(.post, "/api/v1/imports?kind=registrations", token: token, rawBody: csv)
            #expect(uploaded.status == .accepted)
            #expect(uploaded["kind"] as? String == "registrations")
            return (try #require(uploaded["id"] as? String), token)
        }
        let worker = JobWorker(
            queue: JobQueue(db: env.db), handlers: B2CJobs.handlers(db: env.db, now: clock.closure),
            now: clock.closure, logger: Logger(label: "import-test"))
        #expect(try await worker.runOnce() == 1)
        try await app.test(.router) { client in
            let run = try await client.send(.get, "/api/v1/imports/\(id)", token: token)
            #expect(run["status"] as? String == "done")
            let report = try #require(run["report"] as? [String: Any])
            #expect(report["inserted"] as? Int == 1)
            #expect(report["guests_created"] as? Int == 1)
            #expect(report["activities_created"] as? Int == 1)
            #expect((report["errors"] as? [[String: Any]])?.first?["column"] as? String == "Status")
        }
    }
}
