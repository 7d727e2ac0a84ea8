import Foundation

/// When to try a temporarily failed delivery again: exponential backoff with jitter, up to a number of attempts.
///
/// A value the sending worker keeps beside the send; `nextAttempt` answers nil when it is time to give up.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay after the first failure.
    public var initialDelay: TimeInterval
    public var multiplier: Double
    public var maximumDelay: TimeInterval
    /// Attempts in all, the first one included.
    public var maximumAttempts: Int
    /// Each delay is spread by up to this fraction either way (0.2: 80 % to 120 %), so retries of one batch
    /// do not hit the relay at the same moment.
    public var jitter: Double

    public init(
        initialDelay: TimeInterval = 60, multiplier: Double = 2, maximumDelay: TimeInterval = 4 * 3600,
        maximumAttempts: Int = 10, jitter: Double = 0.2
    ) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.maximumAttempts = maximumAttempts
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before attempt `failedAttempts + 1`, or nil when no attempts are left.
    public func delay(afterFailedAttempts failedAttempts: Int, using generator: inout some RandomNumberGenerator) -> TimeInterval? {
        guard failedAttempts >= 1, failedAttempts < maximumAttempts else { return nil }
        let base = min(maximumDelay, initialDelay * pow(multiplier, Double(failedAttempts - 1)))
        let spread = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
        return min(maximumDelay, base * spread)
    }

    /// When to try again after `failedAttempts` failures, the last one at `now`; nil when no attempts are left.
    public func nextAttempt(afterFailedAttempts failedAttempts: Int, now: Date) -> Date? {
        var generator = SystemRandomNumberGenerator()
        return delay(afterFailedAttempts: failedAttempts, using: &generator).map { now.addingTimeInterval($0) }
    }
}
