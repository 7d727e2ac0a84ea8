import Foundation
import KringDatabase
import KringServer
import KringTestSupport
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite struct WorkerShutdownTests {
    /// Lets the test hold a job in its handler until it has asked the worker to shut down.
    actor Gate {
        private var started: CheckedContinuation<Void, Never>?
        private var release: CheckedContinuation<Void, Never>?
        private var hasStarted = false

        func markStarted() {
            hasStarted = true
            started?.resume()
            started = nil
        }

        func waitUntilStarted() async {
            if hasStarted { return }
            await withCheckedContinuation { started = $0 }
        }

        func waitForRelease() async { await withCheckedContinuation { release = $0 } }

        func open() {
            release?.resume()
            release = nil
        }
    }

    @Test func gracefulShutdownFinishesTheRunningJobAndClaimsNoMore() async throws {
        let env = try await TestEnvironment.forSuite("WorkerShutdown")
        let clock = TestClock(Date(timeIntervalSince1970: 1_970_000_000))
        let kind = "test.slow.\(UUID())"
        let (running, waiting) = try await env.db.withPlatform { tx in
            (
                try await JobQueue.enqueue(kind: kind, runAt: clock.now, in: tx),
                try await JobQueue.enqueue(kind: kind, runAt: clock.now + 1, in: tx)
            )
        }
        let gate = Gate()
        let worker = JobWorker(
            queue: JobQueue(db: env.db),
            handlers: [
                kind: { _ in
                    await gate.markStarted()
                    await gate.waitForRelease()
                }
            ], batchSize: 1, pollInterval: .milliseconds(20), now: clock.closure, logger: Logger(label: "shutdown-test"))

        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                await gate.waitUntilStarted()
                trigger.triggerGracefulShutdown()
                clock.advance(by: 5)  // the second job is due now, but a stopping worker must not take it
                await gate.open()
                try await group.waitForAll()
            }
        }
        let states = try await env.db.withPlatform { tx in
            var states: [Int64: String] = [:]
            for try await (id, status, attempts) in try await tx.query("SELECT id, status, attempts FROM jobs WHERE id IN (\(running), \(waiting))")
                .decode((Int64, String, Int).self)
            {
                states[id] = "\(status)/\(attempts)"
            }
            return states
        }
        #expect(states == [running: "done/1", waiting: "queued/0"])
    }
}
