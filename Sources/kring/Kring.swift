import ArgumentParser
import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringWeb
import Logging
import Metrics
import PostgresNIO
import Prometheus
import ServiceLifecycle

@main
struct Kring: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kring",
        abstract: "Kring, the CRM for public libraries.",
        subcommands: [
            Serve.self, Worker.self, Migrate.self, TenantCommand.self, UserCommand.self, PlatformAdminCommand.self,
            APIKeyCommand.self, JWTKeyCommand.self, ImportCommand.self, MailCommand.self, DemoCommand.self, MosaicCommand.self, FiguresCommand.self,
            RetentionCommand.self,
            Bench.self,
        ])

    static func main() async {
        Environment.bootstrapLogging()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server.")

    func run() async throws {
        let env = Environment()
        let logger = env.logger
        let settings = try env.settings()
        let keys = try await env.tokenKeys()
        let migrations = try MigrationSet.load()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var appConfig = try DatabaseURL.configuration(from: try env.require("KRING_DATABASE_URL"))
        let poolSize = try env.integer("KRING_DATABASE_POOL_SIZE", default: 20, in: 1...1000)
        appConfig.options.maximumConnections = poolSize
        // Connections kept open while idle. PostgresNIO starts an idle-timeout timer (a task) each time it gets back a
        // connection above this number, which under load is every request: keeping the pool open is a sixth faster.
        appConfig.options.minimumConnections = try env.integer("KRING_DATABASE_POOL_KEEP_OPEN", default: poolSize, in: 0...poolSize)
        var ownerConfig = try DatabaseURL.configuration(from: try env.require("KRING_OWNER_DATABASE_URL"))
        ownerConfig.options.maximumConnections = 2
        let appClient = PostgresClient(configuration: appConfig, backgroundLogger: logger)
        let ownerClient = PostgresClient(configuration: ownerConfig, backgroundLogger: logger)
        // A request waits this long for a database connection, then answers 503 (the database is down, or the pool
        // exhausted): never the minute PostgresNIO would wait for an unreachable server.
        let seconds = env.values["KRING_DATABASE_WAIT_SECONDS"].map { Double($0) } ?? 3
        guard let seconds, seconds.isFinite, (0...3600).contains(seconds) else {
            throw ValidationError("KRING_DATABASE_WAIT_SECONDS takes a number of seconds from 0 to 3600.")
        }
        let wait = Duration.milliseconds(Int(seconds * 1000))
        // 0 turns the limit off (requests then wait as long as the pool does).
        let db = Database(client: appClient, logger: logger, connectionWait: wait > .zero ? wait : nil)
        let owner = Database(client: ownerClient, logger: logger, connectionWait: wait > .zero ? wait : nil)
        let now: @Sendable () -> Date = { Date() }
        let services = AppServices(
            db: db, owner: owner,
            authentication: Authentication(db: db, keys: keys, hasher: PasswordHasher(), environment: settings.environment, now: now),
            provisioner: TenantProvisioner(migrator: Migrator(owner: owner, migrations: migrations)),
            migrations: migrations, settings: settings, metrics: registry, now: now)
        let templates = try await WebTemplates()
        let app = Application(
            router: buildKringRouter(services, templates: templates),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "Kring"),
            services: [appClient, ownerClient], logger: logger)
        logger.info("Kring listening", metadata: ["address": "http://\(settings.host):\(settings.port)"])
        try await app.runService()
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the background job loop until stopped (SIGTERM/SIGINT finish the current jobs).")

    func run() async throws {
        let env = Environment()
        let logger = env.logger
        var config = try DatabaseURL.configuration(from: try env.require("KRING_DATABASE_URL"))
        config.options.maximumConnections = 4 + (Int(env.values["KRING_SEND_CONNECTIONS"] ?? "") ?? 4)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        let db = Database(client: client, logger: logger)
        let now: @Sendable () -> Date = { Date() }
        var handlers = PlatformJobs.handlers(db: db, now: now).merging(B2CJobs.handlers(db: db, now: now)) { first, _ in first }
            .merging(RelationsJobs.handlers(db: db, now: now)) { first, _ in first }
            .merging(CampaignJobs.handlers(db: db, now: now)) { first, _ in first }
            .merging(InsightJobs.handlers(db: db, now: now)) { first, _ in first }
            .merging(RetentionJobs.handlers(db: db, now: now)) { first, _ in first }
        if let url = env.values["KRING_SMTP_URL"], !url.isEmpty {
            let invitations = StaffInvitations.handlers(
                db: db, transport: try MailTransports.from(url: url, logger: logger),
                publicURL: env.publicURL,
                fallbackSender: try env.mailFromAddress, now: now, logger: logger)
            handlers.merge(invitations) { first, _ in first }
            let resets = PasswordResets.handlers(
                db: db, transport: try MailTransports.from(url: url, logger: logger), publicURL: env.publicURL,
                fallbackSender: try env.mailFromAddress, now: now, logger: logger)
            handlers.merge(resets) { first, _ in first }
        }
        let worker = JobWorker(queue: JobQueue(db: db), handlers: handlers, now: now, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: client), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let sender = try env.sendWorker(db: db, now: now) {
            services.append(.init(service: SendLoop(worker: sender, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup))
        } else {
            logger.warning("campaign mail is not sent by this worker: set KRING_SMTP_URL and KRING_LINK_SECRET_FILE")
        }
        let seed = Task {
            // The service group starts the pool; give it a moment, so the first lease does not find it stopped.
            try? await Task.sleep(for: .milliseconds(250))
            do {
                try await db.withPlatform { tx in
                    try await PlatformJobs.schedulePrune(at: now(), in: tx)
                    try await RelationsJobs.scheduleReminders(at: now(), in: tx)
                    try await CampaignJobs.scheduleTick(at: now(), in: tx)
                    try await InsightJobs.scheduleFigures(at: now(), in: tx)
                    try await RetentionJobs.schedule(after: now(), in: tx)
                }
            } catch {
                logger.error("could not schedule the prune and reminder jobs", metadata: ["error": "\(Migrator.describe(error))"])
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await seed.value
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply platform migrations, then every tenant's (in parallel).")

    @Option(help: "Tenants migrated at once.") var concurrency = 4

    func run() async throws {
        let report = try await Environment().withOwner(maxConnections: concurrency + 2) { owner in
            try await Migrator(owner: owner, migrations: try MigrationSet.load(), concurrency: concurrency).migrate()
        }
        print(
            report.platformApplied.isEmpty
                ? "platform: up to date" : "platform: applied \(report.platformApplied.map(String.init).joined(separator: ", "))")
        for tenant in report.tenants {
            if let error = tenant.error {
                print("\(tenant.slug): FAILED: \(error)")
            } else {
                print(
                    tenant.applied.isEmpty
                        ? "\(tenant.slug): up to date" : "\(tenant.slug): applied \(tenant.applied.map(String.init).joined(separator: ", "))")
            }
        }
        if report.failed { throw ExitCode(1) }
    }
}

/// Shared by commands that read a password: from a file or standard input, never argv.
struct PasswordOptions: ParsableArguments {
    @Option(help: "Read the password from this file.") var passwordFile: String?
    @Flag(help: "Read the password from standard input.") var passwordStdin = false

    func read() throws -> String? {
        guard passwordFile != nil || passwordStdin else { return nil }
        let password = try PasswordInput.read(file: passwordFile, stdin: passwordStdin)
        if let error = PasswordPolicy.validate(password) { throw ValidationError(error.message) }
        return password
    }
}

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Provision and manage libraries.",
        subcommands: [Create.self, List.self, Suspend.self, Resume.self, Delete.self, Export.self, Import.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant: role, schema, tables and its first tenant_admin, in one transaction.")
        @Option(help: "e.g. zuid-kennemerland") var slug: String
        @Option(help: "e.g. \"Bibliotheek Zuid-Kennemerland\"") var name: String
        @Option(help: "E-mail of the first tenant_admin.") var adminEmail: String?
        @Option(help: "Display name of the first tenant_admin.") var adminName = ""
        @OptionGroup var password: PasswordOptions
        @Flag(help: "Succeed without changes when the tenant exists already.") var ifMissing = false

        func run() async throws {
            guard let slug = TenantSlug(slug) else {
                throw ValidationError("slug: use 2 to 39 lowercase letters, digits or '-', starting with a letter")
            }
            let email = try adminEmail.map { raw in
                guard let email = EmailAddress(raw) else { throw ValidationError("admin-email: not a valid e-mail address") }
                return email
            }
            let password = try password.read()
            let hash = try await password.asyncMap { try await PasswordHasher().hash($0) }
            let now = Date()
            let outcome: String = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    if ifMissing, try await TenantDirectory.find(slug: slug, in: tx) != nil { return "\(slug): exists already" }
                    let provisioner = try TenantProvisioner.loaded(owner: owner)
                    let tenant = try await provisioner.create(slug: slug, name: name, now: now, in: tx)
                    var lines = ["created \(tenant.slug) (\(tenant.id.uuidString.lowercased())), schema \(slug.schema), role \(slug.role)"]
                    if let email {
                        let user = try await StaffAccounts.findOrCreate(email: email, displayName: adminName, now: now, in: tx)
                        try await StaffAccounts.addMembership(userID: user.id, tenantID: tenant.id, role: .tenantAdmin, now: now, in: tx)
                        lines.append(
                            try await AccountPassword.settle(userID: user.id, hash: hash, now: now, in: tx)
                                .line("tenant_admin \(email)"))
                    }
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "tenant.created", tenantID: tenant.id, targetType: "tenant",
                            targetID: slug.value, details: ["via": "cli"]), at: now, in: tx)
                    return lines.joined(separator: "\n")
                }
            }
            print(outcome)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        func run() async throws {
            let tenants = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in try await TenantDirectory.list(in: tx) }
            }
            for tenant in tenants { print("\(tenant.slug)\t\(tenant.status.rawValue)\t\(tenant.name)") }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block all logins and API keys of a tenant at once.")
        @Option var slug: String
        func run() async throws { try await TenantCommand.setStatus(.suspended, slug) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a suspension.")
        @Option var slug: String
        func run() async throws { try await TenantCommand.setStatus(.active, slug) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Offboarding: delete a library suspended for the grace period, with its schema, role and platform records; an audit record stays.")
        @Option var slug: String
        @Option(help: "the slug again, to confirm") var confirm: String
        @Option(help: "days the library must have been suspended") var graceDays = LibraryAdministration.deletionGraceDays

        func run() async throws {
            guard let slug = TenantSlug(slug) else { throw ValidationError("no tenant \(self.slug)") }
            guard confirm == slug.value else { throw ValidationError("--confirm must repeat the slug \(slug.value)") }
            guard graceDays >= 0 else { throw ValidationError("--grace-days: 0 or more") }
            let (tenant, tables) = try await Environment().withOwner { owner in
                let provisioner = try TenantProvisioner.loaded(owner: owner)
                return try await LibraryAdministration.delete(
                    slug: slug, graceDays: graceDays, actor: nil, via: "cli", now: Date(), owner: owner, provisioner: provisioner)
            }
            print("\(tenant.slug): deleted (schema \(tenant.slug.schema) with \(tables) tables, role \(tenant.slug.role)); the audit record stays")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one library's schema (every table's rows, with counts and checksums) to a file that kring tenant import restores.")
        @Option var slug: String
        @Option(help: "the archive to write") var file: String

        func run() async throws {
            guard let slug = TenantSlug(slug) else { throw ValidationError("no tenant \(self.slug)") }
            let header = try await Environment().withOwner { owner in
                guard let tenant = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) }) else {
                    throw ValidationError("no tenant \(slug.value)")
                }
                return try await TenantArchive.export(tenant, to: URL(fileURLWithPath: file), owner: owner)
            }
            let rows = header.tables.reduce(0) { $0 + $1.rows }
            print("\(slug.value): \(header.tables.count) tables, \(rows) rows, \(header.migrations.count) migrations written to \(file)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Restore an archive of kring tenant export as a new library (its own slug, or --slug), checking every table's rows and checksum.")
        @Option(help: "the archive to read") var file: String
        @Option(help: "the new library's slug (default: the archive's)") var slug: String?
        @Option(help: "the new library's name (default: the archive's)") var name: String?

        func run() async throws {
            let target = try slug.map { raw in
                guard let slug = TenantSlug(raw) else {
                    throw ValidationError("slug: use 2 to 39 lowercase letters, digits or '-', starting with a letter")
                }
                return slug
            }
            let (tenant, tables) = try await Environment().withOwner { owner in
                let provisioner = try TenantProvisioner.loaded(owner: owner)
                return try await TenantArchive.importArchive(
                    URL(fileURLWithPath: file), as: target, name: name, now: Date(), owner: owner, provisioner: provisioner)
            }
            let rows = tables.reduce(0) { $0 + $1.rows }
            print("\(tenant.slug.value): restored, \(tables.count) tables and \(rows) rows, each table's count and checksum as in the archive")
        }
    }

    static func setStatus(_ status: Tenant.Status, _ raw: String) async throws {
        guard let slug = TenantSlug(raw) else { throw ValidationError("no tenant \(raw)") }
        let now = Date()
        let tenant = try await Environment().withOwner { owner in
            try await owner.withPlatform { tx in
                let tenant = try await TenantDirectory.setStatus(status, slug: slug, now: now, in: tx)
                try await PlatformAudit.record(
                    AuditEvent(
                        action: status == .suspended ? "tenant.suspended" : "tenant.resumed",
                        tenantID: tenant.id, targetType: "tenant", targetID: slug.value,
                        details: ["via": "cli"]), at: now, in: tx)
                return tenant
            }
        }
        print("\(tenant.slug): \(tenant.status.rawValue)")
    }
}
