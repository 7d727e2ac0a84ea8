import ArgumentParser
import Foundation
import KringAuth
import KringCampaigns
import KringDatabase
import KringMail
import KringServer
import Logging
import PostgresNIO

/// Configuration from `KRING_*` environment variables (see Docs/configuration.md).
struct Environment {
    let values: [String: String]

    init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "Set \(name) (see Docs/configuration.md)." }
    }

    /// A whole number from the environment, `defaultValue` when unset; a value that is not a number in `range` stops
    /// the command with a message naming the variable.
    func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }

    func require(_ name: String) throws -> String {
        guard let value = values[name], !value.isEmpty else { throw Missing(name: name) }
        return value
    }

    var logger: Logger {
        var logger = Logger(label: "kring")
        logger.logLevel = values["KRING_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }

    static func bootstrapLogging() {
        let env = Environment()
        let level = env.values["KRING_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        if env.values["KRING_LOG_FORMAT"] == "json" {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    func settings() throws -> ServerSettings {
        var settings = ServerSettings()
        if let listen = values["KRING_LISTEN"] {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw Missing(name: "KRING_LISTEN as host:port")
            }
            settings.host = String(listen[..<colon])
            settings.port = port
        }
        if let bytes = values["KRING_MAX_BODY_BYTES"].flatMap(Int.init) { settings.maxBodyBytes = bytes }
        if let bytes = values["KRING_MAX_IMPORT_BYTES"].flatMap(Int.init) { settings.maxImportBytes = bytes }
        settings.environment = values["KRING_ENVIRONMENT"] ?? "dev"
        settings.trustForwardedFor = values["KRING_TRUST_FORWARDED_FOR"] == "1"
        settings.links = try links()
        settings.publicURL = publicURL
        return settings
    }

    /// The campaign sender of `kring worker`: nil without a relay (`KRING_SMTP_URL`) or link secret.
    func sendWorker(db: Database, now: @escaping @Sendable () -> Date) throws -> SendWorker? {
        guard let url = values["KRING_SMTP_URL"], !url.isEmpty, let links = try links() else { return nil }
        var options = SendWorker.Options()
        if let name = values["KRING_WORKER_NAME"], !name.isEmpty { options.name = name }
        if let value = values["KRING_SEND_CONNECTIONS"].flatMap(Int.init), value > 0 { options.connections = value }
        if let value = values["KRING_SEND_BATCH"].flatMap(Int.init), value > 0 { options.batchSize = value }
        if let value = values["KRING_SEND_LEASE_SECONDS"].flatMap(Double.init), value > 0 { options.lease = value }
        return SendWorker(
            db: db, transport: try MailTransports.from(url: url, logger: logger), links: links, options: options, now: now, logger: logger)
    }

    /// The signed public links, from `KRING_PUBLIC_URL` and the secret in `KRING_LINK_SECRET_FILE` (32+ bytes).
    func links() throws -> PublicLinks? {
        guard let file = values["KRING_LINK_SECRET_FILE"], !file.isEmpty else { return nil }
        let secret = try Data(contentsOf: URL(fileURLWithPath: file))
        return PublicLinks(baseURL: publicURL, signer: try LinkSigner(secret: secret))
    }

    /// Where the public pages are reached from outside (`KRING_PUBLIC_URL`), for links in mails.
    var publicURL: String { values["KRING_PUBLIC_URL"] ?? "http://127.0.0.1:8080" }

    /// The address of `KRING_MAIL_FROM` ("Kring <noreply@kring.example>" or a bare address), for staff invitations and
    /// password links of a library without a sender of its own (they go out under the library's name); nil when unset.
    /// A value that is no address stops the worker at start rather than failing every invitation later.
    var mailFromAddress: String? {
        get throws {
            guard let text = values["KRING_MAIL_FROM"], !text.isEmpty else { return nil }
            return try MailCommand.mailbox(text).address
        }
    }

    func tokenKeys() async throws -> TokenKeys {
        let folder = URL(fileURLWithPath: try require("KRING_JWT_KEYS_DIR"))
        return try await TokenKeys.load(folder: folder, activeKID: values["KRING_JWT_ACTIVE_KID"], issuer: values["KRING_JWT_ISSUER"] ?? "kring")
    }

    /// Runs `body` with a connected pool for the database URL in `variable`.
    func withDatabase<T: Sendable>(_ variable: String, maxConnections: Int = 10, _ body: (Database) async throws -> T) async throws -> T {
        var configuration = try DatabaseURL.configuration(from: try require(variable))
        configuration.options.maximumConnections = maxConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await client.whileRunning { try await body(Database(client: client, logger: logger)) }
    }

    func withOwner<T: Sendable>(maxConnections: Int = 6, _ body: (Database) async throws -> T) async throws -> T {
        try await withDatabase("KRING_OWNER_DATABASE_URL", maxConnections: maxConnections, body)
    }
}

/// Reads a password from a file or standard input, never from the command line (where `ps` would show it).
enum PasswordInput {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "Give the password with --password-file PATH or --password-stdin." }
    }

    static func read(file: String?, stdin: Bool) throws -> String {
        if let file {
            return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        if stdin {
            return (readLine(strippingNewline: true) ?? "")
        }
        throw Missing()
    }
}

extension TenantProvisioner {
    /// The provisioner of the command line: the owner connection and the migrations on disk.
    static func loaded(owner: Database) throws -> TenantProvisioner {
        TenantProvisioner(migrator: Migrator(owner: owner, migrations: try MigrationSet.load()))
    }
}
