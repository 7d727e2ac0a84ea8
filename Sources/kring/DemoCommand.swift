import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fill a tenant with synthetic demo data (branches, members through the real import, activities, consents, complaints).")
    @Option var tenant: String
    @Option(help: "Members to generate (BZK has about 68,000).") var members = 68_000
    @Flag(help: "Do nothing when the tenant has customers already.") var ifEmpty = false

    func run() async throws {
        guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
        let now = Date()
        let line: String = try await Environment().withOwner { owner in
            guard let found = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) }) else {
                throw TenantError.notFound(slug.value)
            }
            if ifEmpty {
                let count = try await owner.withTenant(found) { tx in
                    try await tx.query("SELECT count(*)::int FROM customers").decode(Int.self).reduce(0, +)
                }
                if count > 0 { return "\(slug): has \(count) customers already" }
            }
            let report = try await DemoLibrary(tenant: slug, members: members).seed(tenant: found, db: owner, now: now)
            let rejected = report.errors.prefix(5).map { "  line \($0.line), \($0.column ?? "-"): \($0.reason)" }
            return (["\(slug): \(report.inserted) members imported (\(report.rejected) rejected), activities, registrations, consents and complaints added"]
                + rejected).joined(separator: "\n")
        }
        print(line)
    }
}
