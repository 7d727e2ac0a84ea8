import ArgumentParser
import Foundation
import KringCore
import KringDatabase
import KringInsight

/// `kring figures snapshot` stores today's figures of one library or all (what the nightly job does);
/// `kring figures demo-history` gives a demo library 13 months of made-up figures.
struct FiguresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figures", abstract: "The libraries' daily figures: take today's, or make a demo library's history.",
        subcommands: [Snapshot.self, DemoHistory.self])

    static func library(_ slug: String, owner: Database) async throws -> Tenant {
        guard let slug = TenantSlug(slug),
            let tenant = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) })
        else { throw ValidationError("no library \(slug)") }
        return tenant
    }

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure and store today's figures (of every active library without --tenant).")
        @Option var tenant: String?

        func run() async throws {
            let line = try await Environment().withOwner { owner -> String in
                if let tenant {
                    try await LibraryFigures.snapshot(try await FiguresCommand.library(tenant, owner: owner), at: Date(), db: owner)
                    return "\(tenant): \(LibraryFigures.catalogue.count) figures stored"
                }
                let (done, failed) = try await LibraryFigures.snapshotAll(at: Date(), db: owner)
                return "\(done) libraries' figures stored" + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))")
            }
            print(line)
        }
    }

    struct DemoHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo-history",
            abstract: "Demo only: 13 months of made-up daily figures before today, unless the library has any figure before today.")
        @Option var tenant: String

        func run() async throws {
            let days = try await Environment().withOwner { owner in
                try await LibraryFigures.demoHistory(try await FiguresCommand.library(tenant, owner: owner), at: Date(), db: owner)
            }
            print(days == 0 ? "\(tenant): has a history already" : "\(tenant): \(days) days of demo figures")
        }
    }
}
