import ArgumentParser
import Foundation
import KringAuth
import KringB2B
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Fill a tenant with synthetic demo data (branches, members through the real import, activities, consents, complaints, business relations)."
    )
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
            let demo = DemoLibrary(tenant: slug, members: members)
            let report = try await demo.seed(tenant: found, db: owner, now: now)
            let rejected = report.errors.prefix(5).map { "  line \($0.line), \($0.column ?? "-"): \($0.reason)" }
            // The business relations go to the demo's relations user, when the local run made one.
            let relationsUser = try await owner.withPlatform { tx -> UUID? in
                guard let email = EmailAddress("relations@\(slug.value).example"),
                    let user = try await StaffAccounts.find(email: email, in: tx),
                    try await StaffAccounts.member(userID: user.id, tenantID: found.id, in: tx) != nil
                else { return nil }
                return user.id
            }
            let organisations = try await owner.withTenant(found) { tx in
                try await RelationsDemo(municipality: demo.profile.branches.first?.municipality ?? "Haarlem", accountOwner: relationsUser)
                    .seed(by: .system, now: now, in: tx)
            }
            let campaigns = try await owner.withTenant(found) { tx in
                try await CampaignsDemo(senderAddress: "nieuws@\(slug.value).example", senderName: found.name).seed(by: .system, now: now, in: tx)
            }
            return
                ([
                    "\(slug): \(report.inserted) members imported (\(report.rejected) rejected), activities, registrations, consents and complaints added; "
                        + "\(organisations) business relations; the Weekbrief list, \(campaigns.newsletters.count) draft newsletters by branch and three active journeys; "
                        + "for relations the education newsletter and \(campaigns.newYearGreetings.count) new-year greetings as drafts"
                ]
                + rejected).joined(separator: "\n")
        }
        print(line)
    }
}
