import Foundation
import PostgresNIO

/// Parses a `postgres://user:password@host:port/database` URL into a client configuration.
///
/// `?host=/path/to/socket/dir` connects over a Unix socket instead; `?sslmode=disable|prefer|require` sets TLS.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "Invalid database URL: \(reason)" }
    }

    public static func configuration(from string: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else { throw Invalid(reason: "expected postgres://user@host:port/database") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(reason: "no user name") }
        let password = components.password
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw Invalid(reason: "no database name") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })

        if let socketDir = query["host"], socketDir.hasPrefix("/") {
            let port = components.port ?? 5432
            return PostgresClient.Configuration(
                unixSocketPath: "\(socketDir)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw Invalid(reason: "unknown sslmode \(other)")
        }
        return PostgresClient.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432,
            username: user, password: password, database: database, tls: tls)
    }
}
