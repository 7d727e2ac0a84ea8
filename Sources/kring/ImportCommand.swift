import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import exports of the library system and the ticketing system, and lists of business relations.",
        subcommands: [Members.self, Registrations.self, OrganisationsImport.self, ContactsImport.self])

    /// Runs `body` against the named tenant with the owner's pool, as the CLI does for every import.
    static func inTenant(_ tenant: String, _ body: @escaping @Sendable (Database, Tenant) async throws -> ImportReport) async throws -> ImportReport {
        guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
        return try await Environment().withOwner { owner in
            guard let found = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) }) else {
                throw TenantError.notFound(slug.value)
            }
            return try await body(owner, found)
        }
    }

    struct Registrations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a ticketing export (CSV): each ticket a registration, linked by member number or e-mail, else a new guest.")
        @Option var tenant: String
        @Option(help: "The CSV file.") var file: String
        @Option(help: "A JSON column mapping; default: Deploy/mappings/registrations-default.json's.") var mapping: String?
        @Flag(help: "Report what would change, change nothing.") var dryRun = false

        func run() async throws {
            let columnMapping = try mapping.map {
                try JSONDecoder().decode(RegistrationMapping.self, from: Data(contentsOf: URL(fileURLWithPath: $0)))
            }
            let importer = RegistrationImport(mapping: columnMapping ?? .defaultRegistrations, dryRun: dryRun)
            let file = file
            let report = try await ImportCommand.inTenant(tenant) { owner, tenant in
                try await importer.run(try FileImportSource(path: file), by: .system, now: Date(), db: owner, tenant: tenant)
            }
            print(Members.summary(report))
            if report.rejected > 0 { throw ExitCode(2) }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a member export (CSV): upsert by member number, bad rows reported with line and reason.")
        @Option var tenant: String
        @Option(help: "The CSV file.") var file: String
        @Option(help: "A JSON column mapping; default: Deploy/mappings/members-default.json's.") var mapping: String?
        @Flag(help: "Report what would change, change nothing.") var dryRun = false
        @Flag(help: "Mark active members missing from this full export as ended.") var markMissingEnded = false

        func run() async throws {
            let columnMapping = try mapping.map { try JSONDecoder().decode(ImportMapping.self, from: Data(contentsOf: URL(fileURLWithPath: $0))) }
            let importer = MemberImport(mapping: columnMapping ?? .defaultMembers, dryRun: dryRun, markMissingEnded: markMissingEnded)
            let file = file
            let report = try await ImportCommand.inTenant(tenant) { owner, tenant in
                try await importer.run(try FileImportSource(path: file), by: .system, now: Date(), db: owner, tenant: tenant)
            }
            print(Self.summary(report))
            if report.rejected > 0 { throw ExitCode(2) }
        }

        static func summary(_ report: ImportReport) -> String {
            var lines = [
                "\(report.dryRun ? "dry run: " : "")\(report.rows) rows (\(report.encoding?.rawValue ?? "?"), separator '\(report.separator ?? "?")'): "
                    + "\(report.inserted) new, \(report.updated) changed, \(report.unchanged) unchanged, \(report.rejected) rejected"
            ]
            if let guests = report.guestsCreated, let activities = report.activitiesCreated {
                lines.append("\(guests) new activity guests, \(activities) new activities")
            }
            if report.missingMembers > 0 {
                lines.append(
                    "\(report.missingMembers) active members are missing from the export\(report.markedEnded > 0 ? "; \(report.markedEnded) marked ended" : "")"
                )
            }
            for error in report.errors.prefix(50) {
                lines.append("line \(error.line)\(error.column.map { ", \($0)" } ?? ""): \(error.reason)")
            }
            if report.rejected > 50 { lines.append("... and \(report.rejected - 50) more rejected rows") }
            return lines.joined(separator: "\n")
        }
    }
}
