import Foundation
import KringDatabase
import PostgresNIO

/// Slows down password guessing per account and per client address.
///
/// After `freeFailures` failures within the window, each further failure locks the key for a doubling time
/// (30 s, 1 min, 2 min, ... up to 15 min). Keys are hashed: an unknown e-mail address is treated exactly like
/// a known one and stored nowhere in the clear.
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

    /// Seconds until the first of these keys unlocks, or nil when none is locked.
    public func lockedFor(keys: [String], now: Date, in tx: PlatformTransaction) async throws -> Int? {
        let rows = try await tx.query("SELECT max(locked_until) FROM platform.login_throttle WHERE key = ANY(\(keys)) AND locked_until > \(now)")
        for try await until in rows.decode(Date?.self) {
            if let until { return max(1, Int(until.timeIntervalSince(now).rounded(.up))) }
        }
        return nil
    }

    public func recordFailure(account: String, address: String?, now: Date, in tx: PlatformTransaction) async throws {
        try await bump(account, free: accountFreeFailures, now: now, in: tx)
        if let address { try await bump(address, free: addressFreeFailures, now: now, in: tx) }
    }

    public func recordSuccess(account: String, in tx: PlatformTransaction) async throws {
        try await tx.query("DELETE FROM platform.login_throttle WHERE key = \(account)")
    }

    private func bump(_ key: String, free: Int, now: Date, in tx: PlatformTransaction) async throws {
        let windowStart = now.addingTimeInterval(-window)
        let rows = try await tx.query("""
            INSERT INTO platform.login_throttle (key, failures, last_failure_at) VALUES (\(key), 1, \(now))
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_throttle.last_failure_at < \(windowStart) THEN 1 ELSE login_throttle.failures + 1 END,
                last_failure_at = \(now)
            RETURNING failures
            """)
        for try await failures in rows.decode(Int.self) where failures > free {
            let lock = min(maxLock, baseLock * pow(2, Double(min(failures - free - 1, 20))))
            try await tx.query("UPDATE platform.login_throttle SET locked_until = \(now.addingTimeInterval(lock)) WHERE key = \(key)")
        }
    }
}
