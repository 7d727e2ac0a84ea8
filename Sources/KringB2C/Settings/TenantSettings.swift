import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A library's own settings. A setting the library never changed has its default.
public struct TenantSettings: Sendable, Codable, Equatable {
    /// Days from intake to a complaint's due date (the library's service level).
    public var complaintDueDays: Int

    public static let defaults = TenantSettings(complaintDueDays: 14)

    enum CodingKeys: String, CodingKey { case complaintDueDays = "complaint_due_days" }

    public init(complaintDueDays: Int) {
        self.complaintDueDays = complaintDueDays
    }

    /// A change of some settings; absent ones stay as they are.
    public struct Change: Sendable, Codable {
        public var complaintDueDays: Int?

        enum CodingKeys: String, CodingKey { case complaintDueDays = "complaint_due_days" }

        public init(complaintDueDays: Int? = nil) {
            self.complaintDueDays = complaintDueDays
        }
    }

    public static func load(in tx: TenantTransaction) async throws -> TenantSettings {
        var settings = defaults
        for try await (key, value) in try await tx.query("SELECT key, value::text FROM settings").decode((String, String).self) {
            switch key {
            case "complaint_due_days": settings.complaintDueDays = Int(value) ?? settings.complaintDueDays
            default: continue
            }
        }
        return settings
    }

    /// Validates and stores a change, audited with the old and new values (settings hold no personal data).
    public static func change(_ change: Change, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> TenantSettings {
        var errors: [FieldError] = []
        if let days = change.complaintDueDays, !(1...365).contains(days) {
            errors.append(FieldError(field: "complaint_due_days", message: "Use 1 to 365 days."))
        }
        guard errors.isEmpty else { throw SettingsError.invalid(errors) }
        let before = try await load(in: tx)
        if let days = change.complaintDueDays, days != before.complaintDueDays {
            try await tx.query("""
                INSERT INTO settings (key, value, updated_at, updated_by_user_id) VALUES ('complaint_due_days', \(String(days))::jsonb, \(now), \(actor.userID))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, updated_by_user_id = EXCLUDED.updated_by_user_id
                """)
            try await TenantAudit.record("settings.changed", subjectType: "settings", subjectID: "complaint_due_days", by: actor,
                                         details: ["from": String(before.complaintDueDays), "to": String(days)], at: now, in: tx)
        }
        return try await load(in: tx)
    }
}

public enum SettingsError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        }
    }
}
