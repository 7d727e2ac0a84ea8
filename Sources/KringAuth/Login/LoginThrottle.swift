import Foundation
import KringDatabase
import PostgresNIO

/// Slows down password guessing: an account locks, an address only slows down.
///
/// - Per account: every attempt is counted before its password is checked, so concurrent guesses cannot all pass
///   one check. Past the free failures the account locks for a doubling time (30 s, 1 min, 2 min, ... up to 15 min);
///   the attempt that first crosses the limit is refused, and after each lock one attempt is checked. A success
///   forgets the account's failures.
/// - Per client address: never a lock, since a branch's staff and its public Wi-Fi share one NAT address. Past the
///   free failures every attempt from the address waits a little longer before its check, up to a few seconds.
///   Successes neither count nor extend anything.
/// - Counters decay (they halve every hour), so old failures fade even while people keep logging in.
///
/// Keys are hashed: an unknown e-mail address is treated exactly like a known one and stored nowhere in the clear.
public struct LoginThrottle: Sendable {
    public var accountFreeFailures = 5
    public var baseLock: TimeInterval = 30
    public var maxLock: TimeInterval = 15 * 60
    public var addressFreeFailures = 20
    /// The wait per failure over an address's free ones, and the most it waits.
    public var addressDelayStep: TimeInterval = 0.25
    public var addressMaxDelay: TimeInterval = 3
    /// A counter halves in this time; much longer than the longest lock, so one guess per expired lock still climbs
    /// to it.
    public var halfLife: TimeInterval = 60 * 60

    public init() {}

    public static func accountKey(_ email: String) -> String { "acct:" + SecureRandom.sha256Hex(email.lowercased()) }
    public static func addressKey(_ address: String) -> String { "addr:" + SecureRandom.sha256Hex(address) }

    /// What the throttle says of one attempt before its password is checked.
    public struct Decision: Sendable, Equatable {
        /// Seconds until the account may try again; the attempt is refused unchecked.
        public var refusedFor: Int?
        /// How long to wait before checking the attempt (the address has failed often).
        public var delay: TimeInterval
    }

    /// Counts an attempt on the account before its password is checked, and reads its address's slow-down.
    public func reserveAttempt(account: String, address: String?, now: Date, in tx: PlatformTransaction) async throws -> Decision {
        let refusal = try await reserve(account, now: now, in: tx)
        guard let address else { return Decision(refusedFor: refusal, delay: 0) }
        let rows = try await tx.query("SELECT failures, last_failure_at FROM platform.login_throttle WHERE key = \(address)")
        var delay: TimeInterval = 0
        for try await (stored, updated) in rows.decode((Double, Date).self) {
            let over = decayed(stored, since: updated, now: now) - Double(addressFreeFailures)
            if over > 0 { delay = min(addressMaxDelay, over * addressDelayStep) }
        }
        return Decision(refusedFor: refusal, delay: delay)
    }

    /// A failed or refused attempt counts against its address.
    public func recordFailure(address: String?, now: Date, in tx: PlatformTransaction) async throws {
        guard let address else { return }
        try await tx.query(
            """
            INSERT INTO platform.login_throttle (key, failures, last_failure_at) VALUES (\(address), 0, \(now))
            ON CONFLICT (key) DO NOTHING
            """)
        let rows = try await tx.query("SELECT failures, last_failure_at FROM platform.login_throttle WHERE key = \(address) FOR UPDATE")
        for try await (stored, updated) in rows.decode((Double, Date).self) {
            let score = decayed(stored, since: updated, now: now) + 1
            try await tx.query("UPDATE platform.login_throttle SET failures = \(score), last_failure_at = \(now) WHERE key = \(address)")
        }
    }

    /// A successful login forgets the account's failures; the address's count is left to decay.
    public func recordSuccess(account: String, in tx: PlatformTransaction) async throws {
        try await tx.query("DELETE FROM platform.login_throttle WHERE key = \(account)")
    }

    /// A stored count as it stands now.
    func decayed(_ stored: Double, since updated: Date, now: Date) -> Double {
        let elapsed = max(0, now.timeIntervalSince(updated))
        return stored * pow(0.5, elapsed / halfLife)
    }

    /// Adds one attempt to an account under a row lock. Past the free attempts the account locks (before the check, so
    /// concurrent guesses are refused); the attempt that first crosses the limit is refused, and after a lock ends
    /// one attempt is checked.
    private func reserve(_ key: String, now: Date, in tx: PlatformTransaction) async throws -> Int? {
        try await tx.query(
            """
            INSERT INTO platform.login_throttle (key, failures, last_failure_at) VALUES (\(key), 0, \(now))
            ON CONFLICT (key) DO NOTHING
            """)
        let rows = try await tx.query("SELECT failures, last_failure_at, locked_until FROM platform.login_throttle WHERE key = \(key) FOR UPDATE")
        for try await (stored, updated, lockedUntil) in rows.decode((Double, Date, Date?).self) {
            if let lockedUntil, lockedUntil > now { return max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up))) }
            let score = decayed(stored, since: updated, now: now) + 1
            let over = score - Double(accountFreeFailures)
            var lockUntil: Date?
            var refuse: Int?
            if over > 0 {
                let doublings = Double(min(Int(over.rounded(.up)) - 1, 20))
                let lock = min(maxLock, baseLock * pow(2, doublings))
                lockUntil = now.addingTimeInterval(lock)
                if lockedUntil == nil { refuse = Int(lock) }
            }
            try await tx.query(
                """
                UPDATE platform.login_throttle SET failures = \(score), last_failure_at = \(now), locked_until = \(lockUntil)
                WHERE key = \(key)
                """)
            return refuse
        }
        return nil
    }
}
