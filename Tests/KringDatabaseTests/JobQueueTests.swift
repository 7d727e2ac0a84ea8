import Foundation
import KringDatabase
import KringTestSupport
import Testing

@Suite(.serialized) struct JobQueueTests {
    @Test func twoWorkersNeverClaimTheSameJob() async throws {
        let env = try await TestEnvironment.forSuite("JobQueue")
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        let kind = "test.\(UUID().uuidString)"
        let ids = try await env.db.withPlatform { tx in
            var ids: [Int64] = []
            for _ in 0..<40 { ids.append(try await JobQueue.enqueue(kind: kind, runAt: now, in: tx)) }
            return ids
        }
        let queue = JobQueue(db: env.db)
        async let first = queue.claim(limit: 25, worker: "w1", lease: .seconds(60), now: now)
        async let second = queue.claim(limit: 25, worker: "w2", lease: .seconds(60), now: now)
        let (a, b) = try await (first, second)
        let claimedA = Set(a.filter { $0.kind == kind }.map(\.id))
        let claimedB = Set(b.filter { $0.kind == kind }.map(\.id))
        #expect(claimedA.isDisjoint(with: claimedB))
        #expect(claimedA.union(claimedB) == Set(ids))
        for job in a { try await queue.complete(job, worker: "w1", now: now) }
        for job in b { try await queue.complete(job, worker: "w2", now: now) }
    }

    @Test func failedJobIsRetriedWithBackoffThenMarkedFailed() async throws {
        let env = try await TestEnvironment.forSuite("JobQueue")
        let start = Date(timeIntervalSince1970: 1_900_100_000)
        let kind = "test.\(UUID().uuidString)"
        let id = try await env.db.withPlatform { tx in try await JobQueue.enqueue(kind: kind, runAt: start, maxAttempts: 2, in: tx) }
        let queue = JobQueue(db: env.db)

        let firstClaim = try await queue.claim(limit: 10, worker: "w", lease: .seconds(60), now: start).filter { $0.id == id }
        #expect(firstClaim.count == 1)
        try await queue.fail(firstClaim[0], worker: "w", error: "smtp down", now: start)
        // Backoff after attempt 1 is 2 s: not due after 1 s, due after 3 s.
        #expect(try await queue.claim(limit: 10, worker: "w", lease: .seconds(60), now: start + 1).filter { $0.id == id }.isEmpty)
        let second = try await queue.claim(limit: 10, worker: "w", lease: .seconds(60), now: start + 3).filter { $0.id == id }
        #expect(second.first?.attempts == 2)
        try await queue.fail(second[0], worker: "w", error: "smtp down", now: start + 3)
        // Attempts exhausted: never claimed again.
        #expect(try await queue.claim(limit: 10, worker: "w", lease: .seconds(60), now: start + 10_000).filter { $0.id == id }.isEmpty)
        let status = try await env.db.withPlatform { tx in
            try await tx.query("SELECT status, last_error FROM jobs WHERE id = \(id)").decode((String, String?).self).reduce(
                into: [(String, String?)]()
            ) { $0.append($1) }
        }
        #expect(status.first?.0 == "failed")
        #expect(status.first?.1 == "smtp down")
    }

    @Test func aDeadWorkersClaimIsRetriedAfterItsLease() async throws {
        let env = try await TestEnvironment.forSuite("JobQueue")
        let start = Date(timeIntervalSince1970: 1_900_200_000)
        let kind = "test.\(UUID().uuidString)"
        let id = try await env.db.withPlatform { tx in try await JobQueue.enqueue(kind: kind, runAt: start, in: tx) }
        let queue = JobQueue(db: env.db)
        #expect(try await queue.claim(limit: 10, worker: "dies", lease: .seconds(60), now: start).contains { $0.id == id })
        #expect(try await queue.claim(limit: 10, worker: "other", lease: .seconds(60), now: start + 30).allSatisfy { $0.id != id })
        let reclaimed = try await queue.claim(limit: 10, worker: "other", lease: .seconds(60), now: start + 61).filter { $0.id == id }
        #expect(reclaimed.first?.attempts == 2)
        // The first worker wakes up late: its word no longer counts.
        try await queue.fail(reclaimed[0], worker: "dies", error: "late", now: start + 62)
        try await queue.complete(reclaimed[0], worker: "other", now: start + 63)
        let state = try await env.db.withPlatform { tx in
            try await tx.query("SELECT status, last_error FROM jobs WHERE id = \(id)").decode((String, String?).self).reduce(
                into: [(String, String?)]()
            ) { $0.append($1) }
        }
        #expect(state.first?.0 == "done")
        #expect(state.first?.1 == nil)
    }

    @Test func aJobWhoseLastAttemptDiedIsFailedNotRetried() async throws {
        let env = try await TestEnvironment.forSuite("JobQueue")
        let start = Date(timeIntervalSince1970: 1_900_300_000)
        let id = try await env.db.withPlatform { tx in try await JobQueue.enqueue(kind: "test.\(UUID())", runAt: start, maxAttempts: 1, in: tx) }
        let queue = JobQueue(db: env.db)
        #expect(try await queue.claim(limit: 10, worker: "dies", lease: .seconds(60), now: start).contains { $0.id == id })
        #expect(try await queue.claim(limit: 10, worker: "next", lease: .seconds(60), now: start + 120).allSatisfy { $0.id != id })
        let status = try await env.db.withPlatform { tx in
            try await tx.query("SELECT status FROM jobs WHERE id = \(id)").decode(String.self).reduce("", +)
        }
        #expect(status == "failed")
    }

    @Test func backoffDoublesAndIsCapped() {
        #expect(JobQueue.backoff(afterAttempt: 1) == 2)
        #expect(JobQueue.backoff(afterAttempt: 3) == 8)
        #expect(JobQueue.backoff(afterAttempt: 30) == 3600)
    }
}
