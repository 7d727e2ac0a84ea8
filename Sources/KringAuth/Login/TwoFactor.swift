import Crypto
import Foundation
import HummingbirdOTP
import KringCore
import KringDatabase
import PostgresNIO

/// Two-factor sign-in with time-based codes (RFC 6238: 6 digits, 30 s, HMAC-SHA1, what authenticator apps expect)
/// and ten one-time recovery codes.
public enum TwoFactor {
    /// Steps either side of now that still count, for a phone whose clock is a little off.
    static let window: Int64 = 1
    public static let recoveryCodeCount = 10

    /// Whether a user has two-factor set up.
    public struct Status: Sendable, Equatable {
        public let enabled: Bool
        public let remainingRecoveryCodes: Int
    }

    /// A new shared secret: 20 random characters (about 120 bits); the app receives their bytes in base32.
    public static func newSecret() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// The `otpauth://` address an authenticator app reads from the QR code.
    public static func authenticatorURL(secret: String, account: String, issuer: String = "Kring") -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }

    /// The secret as the app shows it when typed by hand: base32 in groups of four.
    public static func typedSecret(_ secret: String) -> String {
        let url = authenticatorURL(secret: secret, account: "x")
        let base32 = url.components(separatedBy: "secret=").last?.components(separatedBy: "&").first ?? ""
        return stride(from: 0, to: base32.count, by: 4).map { start -> String in
            let from = base32.index(base32.startIndex, offsetBy: start)
            let to = base32.index(from, offsetBy: min(4, base32.count - start))
            return String(base32[from..<to])
        }.joined(separator: " ")
    }

    /// The code an authenticator app shows at `date` (for tests and the demo's scripts).
    public static func code(secret: String, at date: Date) -> String {
        let value = TOTP(secret: secret).compute(date: date)
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The time step a code matches (within the window), if any; steps at or before `after` are spent.
    public static func matchingStep(code: String, secret: String, now: Date, after spent: Int64? = nil) -> Int64? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let value = Int(digits) else { return nil }
        let totp = TOTP(secret: secret)
        let current = Int64(now.timeIntervalSince1970 / 30)
        for step in (current - window)...(current + window) where step > (spent ?? Int64.min) {
            if totp.compute(date: Date(timeIntervalSince1970: TimeInterval(step) * 30)) == value { return step }
        }
        return nil
    }

    public static func status(userID: UUID, in tx: PlatformTransaction) async throws -> Status {
        let rows = try await tx.query(
            """
            SELECT u.totp_enabled_at IS NOT NULL,
                   (SELECT count(*) FROM platform.recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)::int
            FROM platform.users u WHERE u.id = \(userID)
            """)
        for try await (enabled, remaining) in rows.decode((Bool, Int).self) {
            return Status(enabled: enabled, remainingRecoveryCodes: remaining)
        }
        return Status(enabled: false, remainingRecoveryCodes: 0)
    }

    /// Checks a code from the app or a recovery code, and spends it: the same code never works twice.
    public static func redeem(code: String, userID: UUID, now: Date, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query(
            """
            SELECT totp_secret, totp_last_step FROM platform.users WHERE id = \(userID) AND totp_enabled_at IS NOT NULL FOR UPDATE
            """)
        var stored: (String, Int64?)?
        for try await row in rows.decode((String, Int64?).self) { stored = row }
        guard let (secret, lastStep) = stored else { return false }
        if let step = matchingStep(code: code, secret: secret, now: now, after: lastStep) {
            try await tx.query("UPDATE platform.users SET totp_last_step = \(step) WHERE id = \(userID)")
            return true
        }
        let normalised = normaliseRecoveryCode(code)
        guard normalised.count == 10 else { return false }
        let used = try await tx.query(
            """
            UPDATE platform.recovery_codes SET used_at = \(now)
            WHERE user_id = \(userID) AND code_hash = \(SecureRandom.sha256(normalised)) AND used_at IS NULL
            RETURNING 1
            """)
        for try await _ in used { return true }
        return false
    }

    public enum EnableError: Error, Equatable {
        /// Two-factor is on already: a second enrolment would replace the app the person has (turn it off first).
        case alreadyEnabled
    }

    /// Turns two-factor on with a secret the user's app has confirmed, and answers ten new recovery codes (shown once).
    /// Never replaces an active secret; the secret on offer in the user's browser sessions is forgotten.
    public static func enable(userID: UUID, secret: String, confirmedStep: Int64, now: Date, in tx: PlatformTransaction) async throws -> [String] {
        let updated = try await tx.query(
            """
            UPDATE platform.users SET totp_secret = \(secret), totp_enabled_at = \(now), totp_last_step = \(confirmedStep), updated_at = \(now)
            WHERE id = \(userID) AND totp_enabled_at IS NULL
            RETURNING 1
            """
        ).decode(Int.self).first { _ in true }
        guard updated != nil else { throw EnableError.alreadyEnabled }
        try await tx.query("UPDATE platform.browser_sessions SET pending_secret = NULL WHERE user_id = \(userID)")
        return try await newRecoveryCodes(userID: userID, now: now, in: tx)
    }

    /// Replaces a user's recovery codes; the old ones stop working.
    public static func newRecoveryCodes(userID: UUID, now: Date, in tx: PlatformTransaction) async throws -> [String] {
        try await tx.query("DELETE FROM platform.recovery_codes WHERE user_id = \(userID)")
        var codes: [String] = []
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<recoveryCodeCount {
            let raw = String((0..<10).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
            try await tx.query(
                """
                INSERT INTO platform.recovery_codes (user_id, code_hash, created_at) VALUES (\(userID), \(SecureRandom.sha256(raw)), \(now))
                ON CONFLICT DO NOTHING
                """)
            codes.append(String(raw.prefix(5)) + "-" + String(raw.suffix(5)))
        }
        return codes
    }

    /// Turns two-factor off (a colleague's reset, or the user's own choice where it is not required).
    public static func reset(userID: UUID, now: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            UPDATE platform.users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = \(now)
            WHERE id = \(userID)
            """)
        try await tx.query("DELETE FROM platform.recovery_codes WHERE user_id = \(userID)")
        try await tx.query("DELETE FROM platform.browser_sessions WHERE user_id = \(userID) AND family_id IS NULL")
    }

    static func normaliseRecoveryCode(_ code: String) -> String {
        code.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}

/// A library's rules for staff sessions, read at sign-in from its settings (the keys `two_factor_required` and
/// `idle_timeout_minutes` of the tenant's `settings`, which the library's administrator changes).
public struct SessionPolicy: Sendable, Equatable {
    public var twoFactorRequired: Bool
    public var idleMinutes: Int

    public static let defaultIdleMinutes = 30
    public static let idleMinutesRange = 5...480
    /// Probiblio's console: two-factor always, a short idle time.
    public static let platform = SessionPolicy(twoFactorRequired: true, idleMinutes: 30)

    public static func load(tenant: Tenant, db: Database) async throws -> SessionPolicy {
        try await db.withTenant(tenant) { tx in
            var policy = SessionPolicy(twoFactorRequired: false, idleMinutes: defaultIdleMinutes)
            let rows = try await tx.query(
                """
                SELECT key, value #>> '{}' FROM settings WHERE key IN ('two_factor_required', 'idle_timeout_minutes')
                """)
            // A stored value that does not read is an error: never two-factor switched off, nor a default idle time.
            for try await (key, value) in rows.decode((String, String?).self) {
                if key == "two_factor_required" {
                    policy.twoFactorRequired = try UnreadableColumn.parse(value, as: Bool.self, column: "settings.\(key)") { Bool($0) }
                }
                if key == "idle_timeout_minutes" {
                    policy.idleMinutes = try UnreadableColumn.parse(value, as: Int.self, column: "settings.\(key)") {
                        Int($0).flatMap { idleMinutesRange.contains($0) ? $0 : nil }
                    }
                }
            }
            return policy
        }
    }
}
