import ArgumentParser
import Foundation
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// `kring import organisations` and `kring import contacts`: the colleagues' lists of business relations (CSV).
struct RelationImportOptions: ParsableArguments {
    @Option var tenant: String
    @Option(help: "The CSV file (an Excel sheet saved as CSV).") var file: String
    @Option(help: "A JSON column mapping; default: Deploy/mappings/<kind>-default.json's.") var mapping: String?
    @Flag(help: "Report what would change, change nothing.") var dryRun = false

    func run(_ kind: RelationImport.Kind) async throws {
        guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
        let columnMapping = try mapping.map { try JSONDecoder().decode(RelationImportMapping.self, from: Data(contentsOf: URL(fileURLWithPath: $0))) }
        guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let importer = RelationImport(kind: kind, mapping: columnMapping, dryRun: dryRun)
        let report = try await Environment().withOwner { owner in
            let (found, staff) = try await owner.withPlatform { tx -> (Tenant, [String: UUID]) in
                guard let found = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
                let members = try await StaffAccounts.members(tenantID: found.id, after: nil, limit: 10_000, in: tx)
                let staff = Dictionary(
                    members.filter { !$0.disabled && !$0.user.disabled }.map { ($0.user.email.lowercased(), $0.user.id) },
                    uniquingKeysWith: { first, _ in first })
                return (found, staff)
            }
            return try await importer.run(Array(bytes), staff: staff, by: .system, now: Date(), db: owner, tenant: found)
        }
        print(Self.summary(report))
        if report.rejected > 0 { throw ExitCode(2) }
    }

    static func summary(_ report: RelationImportReport) -> String {
        var lines = [
            "\(report.dryRun ? "dry run: " : "")\(report.rows) \(report.kind.rawValue) rows (\(report.encoding?.rawValue ?? "?"), separator '\(report.separator ?? "?")'): "
                + "\(report.inserted) new, \(report.updated) changed, \(report.unchanged) unchanged, \(report.rejected) rejected"
        ]
        for error in report.errors.prefix(50) {
            lines.append("line \(error.line)\(error.column.map { ", \($0)" } ?? ""): \(error.reason)")
        }
        if report.rejected > 50 { lines.append("... and \(report.rejected - 50) more rejected rows") }
        return lines.joined(separator: "\n")
    }
}

struct OrganisationsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "organisations",
        abstract: "Import a list of organisations: upsert by name + postcode, bad rows reported with line and reason.")
    @OptionGroup var options: RelationImportOptions
    func run() async throws { try await options.run(.organisations) }
}

struct ContactsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "Import a list of contacts with their role at an organisation: upsert by e-mail (else name at the organisation).")
    @OptionGroup var options: RelationImportOptions
    func run() async throws { try await options.run(.contacts) }
}
