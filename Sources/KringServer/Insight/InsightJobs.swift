import Foundation
import KringCore
import KringDatabase
import KringInsight

/// The nightly figures: every active library's figures of the day (`LibraryFigures`), for its trend lines and for
/// Probiblio's console. Workers seed a run at start, so a new deployment has today's figures at once; each run queues
/// the next for 02:00 in the Netherlands.
public enum InsightJobs {
    public static let figures = "insight.figures"

    public static func handlers(db: Database, now: @escaping @Sendable () -> Date) -> [String: JobHandler] {
        [
            figures: { _ in
                let time = now()
                let (_, failed) = try await LibraryFigures.snapshotAll(at: time, db: db)
                try await db.withPlatform { tx in try await RecurringJobs.queueOnce(figures, at: nextNight(after: time), in: tx) }
                if !failed.isEmpty { throw RecurringJobs.Failures(what: "figures", slugs: failed) }
            }
        ]
    }

    public static func scheduleFigures(at time: Date, in tx: PlatformTransaction) async throws {
        try await RecurringJobs.queueOnce(figures, at: time, in: tx)
    }

    /// 02:00 in the Netherlands after `time`.
    static func nextNight(after time: Date) -> Date { RecurringJobs.nextNight(after: time, hour: 2) }
}
