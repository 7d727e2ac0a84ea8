import Foundation
import Synchronization
import Testing

@testable import KringCampaigns

/// The group commit of "sent" marks: a write that never returns (seen once after a database restart, when one
/// connection lease never came back) fails its marks after the deadline instead of holding up the send loop, and the
/// next mark is written by a new write.
@Suite struct SentMarksTests {
    final class Calls: Sendable {
        let count = Mutex(0)
        let written = Mutex<[UUID]>([])
    }

    @Test func aWriteThatNeverReturnsFailsItsMarksAtTheDeadlineAndTheNextMarkIsWritten() async throws {
        let calls = Calls()
        let marks = SendWorker.SentMarks(deadline: .milliseconds(200)) { batch in
            let call = calls.count.withLock { count -> Int in
                count += 1
                return count
            }
            // The first write hangs as the lost lease did (for far longer than the deadline).
            if call == 1 { try await Task.sleep(for: .seconds(3600)) }
            calls.written.withLock { $0 += batch.map(\.id) }
        }
        let first = UUID()
        let second = UUID()
        let start = ContinuousClock.now
        await #expect(throws: SendWorker.SentMarks.WriteTimedOut.self) { try await marks.mark(first, messageID: "<a@kring>") }
        #expect(ContinuousClock.now - start < .seconds(5), "the mark failed at the deadline, not when the write ended")
        try await marks.mark(second, messageID: "<b@kring>")
        // The mark of the first mail is tried again, as SendWorker.markSent does, and written.
        try await marks.mark(first, messageID: "<a@kring>")
        #expect(calls.written.withLock { $0 } == [second, first])
        #expect(calls.count.withLock { $0 } == 3)
    }

    @Test func aFailedWriteFailsItsMarksAndAQuickOneIsNotCutShort() async throws {
        struct Refused: Error {}
        let calls = Calls()
        let marks = SendWorker.SentMarks(deadline: .seconds(30)) { batch in
            let call = calls.count.withLock { count -> Int in
                count += 1
                return count
            }
            if call == 1 { throw Refused() }
            calls.written.withLock { $0 += batch.map(\.id) }
        }
        let id = UUID()
        await #expect(throws: Refused.self) { try await marks.mark(id, messageID: "<c@kring>") }
        try await marks.mark(id, messageID: "<c@kring>")
        #expect(calls.written.withLock { $0 } == [id])
    }
}
