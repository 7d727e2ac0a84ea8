import Crypto
import Foundation

/// One numbered SQL file of `Migrations/platform` or `Migrations/tenant`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex; an applied file whose checksum changes is an error.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public var fileName: String { String(format: "%04d_%@.sql", version, name) }
}

/// The platform and tenant migrations that ship with this build.
public struct MigrationSet: Sendable {
    public let platform: [Migration]
    public let tenant: [Migration]

    public init(platform: [Migration], tenant: [Migration]) {
        self.platform = platform.sorted { $0.version < $1.version }
        self.tenant = tenant.sorted { $0.version < $1.version }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads `platform/NNNN_name.sql` and `tenant/NNNN_name.sql` below `directory`
    /// (default: the `Migrations` folder found by `ProjectFiles`, or `KRING_MIGRATIONS_DIR`).
    public static func load(from directory: URL? = nil) throws -> MigrationSet {
        let override = ProcessInfo.processInfo.environment["KRING_MIGRATIONS_DIR"]
        guard let root = directory ?? ProjectFiles.locate("Migrations", override: override) else {
            throw LoadError(description: "Migrations folder not found; set KRING_MIGRATIONS_DIR")
        }
        return MigrationSet(
            platform: try loadFolder(root.appendingPathComponent("platform")),
            tenant: try loadFolder(root.appendingPathComponent("tenant")))
    }

    private static func loadFolder(_ folder: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
        var byVersion: [Int: Migration] = [:]
        for file in files {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                let version = Int(stem[..<underscore]), version > 0
            else { throw LoadError(description: "\(folder.lastPathComponent)/\(file): name must be NNNN_name.sql") }
            let name = String(stem[stem.index(after: underscore)...])
            guard let text = String(data: try Data(contentsOf: folder.appendingPathComponent(file)), encoding: .utf8) else {
                throw LoadError(description: "\(folder.lastPathComponent)/\(file) is not UTF-8")
            }
            if let other = byVersion[version] {
                throw LoadError(description: "\(folder.lastPathComponent): \(file) and \(other.fileName) share version \(version)")
            }
            byVersion[version] = Migration(version: version, name: name, sql: text)
        }
        return byVersion.values.sorted { $0.version < $1.version }
    }
}
