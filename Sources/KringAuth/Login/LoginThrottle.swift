import Foundation
import KringDatabase
import PostgresNIO

/// Slows down password guessing per account and per client address.
///
/// Every attempt is counted before its password is checked; a success gives it back. Past the free attempts
/// within the window, each further attempt is refused and locks the key for a doubling time (30 s, 1 min,
/// 2 min, ... up to 15 min). Keys are hashed: an unknown e-mail address is treated exactly like a known one
/// and stored nowhere in the clear.
public struct LoginThrottle: Sendable {
    public var accountFreeFailures = 5
    public var addressFreeFailures = 20
    /// Failures older than this are forgotten.
    public var window: TimeInterval = 15 * 60
    public var baseLock: TimeInterval = 30
    public var maxLock: TimeInterval = 15 * 60

    public init() {}

    public static func accountKey(_ email: String) -> String { "acct:" + SecureRandom.sha256Hex(email.lowercased()) }
    public static func addressKey(_ address: String) -> String { "addr:" + SecureRandom.sha256Hex(address) }

    /// Counts an attempt before its password is checked, so concurrent guesses cannot all pass one check.
    /// Answers the seconds to wait when this attempt is refused unchecked.
    public func reserveAttempt(account: String, address: String?, now: Date, in tx: PlatformTransaction) async throws -> Int? {
        if let wait = try await bump(account, free: accountFreeFailures, now: now, in: tx) { return wait }
        if let address { return try await bump(address, free: addressFreeFailures, now: now, in: tx) }
        return nil
    }

    /// A successful login forgets the account's failures and gives back the address's reserved attempt.
    public func recordSuccess(account: String, address: String?, in tx: PlatformTransaction) async throws {
        try await tx.query("DELETE FROM platform.login_throttle WHERE key = \(account)")
        if let address {
            try await tx.query("""
                UPDATE platform.login_throttle SET failures = greatest(failures - 1, 0),
                    locked_until = CASE WHEN failures - 1 <= \(addressFreeFailures) THEN NULL ELSE locked_until END
                WHERE key = \(address)
                """)
        }
    }

    /// Adds one attempt to a key, under a row lock. Past `free` attempts in the window the key locks for a doubling
    /// time; the attempt that first crosses the limit is refused, and after each lock ends one attempt is checked.
    private func bump(_ key: String, free: Int, now: Date, in tx: PlatformTransaction) async throws -> Int? {
        try await tx.query("""
            INSERT INTO platform.login_throttle (key, failures, last_failure_at) VALUES (\(key), 0, \(now))
            ON CONFLICT (key) DO NOTHING
            """)
        let rows = try await tx.query("SELECT failures, last_failure_at, locked_until FROM platform.login_throttle WHERE key = \(key) FOR UPDATE")
        for try await (stored, lastAttempt, lockedUntil) in rows.decode((Int, Date, Date?).self) {
            if let lockedUntil, lockedUntil > now { return max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up))) }
            let fresh = lastAttempt < now.addingTimeInterval(-window)
            let attempts = fresh ? 1 : stored + 1
            var lockUntil: Date?
            var refuse: Int?
            if attempts > free {
                let lock = min(maxLock, baseLock * pow(2, Double(min(attempts - free - 1, 20))))
                lockUntil = now.addingTimeInterval(lock)
                if fresh || lockedUntil == nil { refuse = Int(lock) }
            }
            try await tx.query("""
                UPDATE platform.login_throttle SET failures = \(attempts), last_failure_at = \(now), locked_until = \(lockUntil)
                WHERE key = \(key)
                """)
            return refuse
        }
        return nil
    }
}
