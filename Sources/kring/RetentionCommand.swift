import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase

/// `kring retention` applies the libraries' retention terms now (what the nightly job does), or with `--dry-run` says
/// what would go and changes nothing.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Apply the libraries' retention terms (ended members, guests, mail events, audit log), or count what would go.")
    @Option(help: "one library (default: every active library)") var tenant: String?
    @Flag(name: .customLong("dry-run"), help: "count what would go; change nothing") var dryRun = false

    func run() async throws {
        let lines = try await Environment().withOwner { owner -> [String] in
            let tenants: [Tenant]
            if let tenant {
                tenants = [try await FiguresCommand.library(tenant, owner: owner)]
            } else {
                tenants = try await owner.withPlatform { tx in try await TenantDirectory.list(in: tx) }.filter { $0.status == .active }
            }
            var lines: [String] = []
            for tenant in tenants {
                let counts = try await owner.withTenant(tenant) { tx in
                    dryRun ? try await Retention.dryRun(now: Date(), in: tx) : try await Retention.apply(now: Date(), in: tx)
                }
                lines.append(
                    "\(tenant.slug.value): \(dryRun ? "would erase" : "erased") \(counts.endedMembers) ended members and \(counts.guests) guests, "
                        + "\(dryRun ? "would remove" : "removed") \(counts.mailEvents) mail events and \(counts.auditRecords) audit records")
            }
            return lines
        }
        for line in lines { print(line) }
        if dryRun { print("dry run: nothing changed") }
    }
}
