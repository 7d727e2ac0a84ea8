import Foundation
import KringAuth
import KringCore
import KringDatabase
import PostgresNIO

/// A library's own settings. A setting the library never changed has its default.
public struct TenantSettings: Sendable, Codable, Equatable {
    /// Days from intake to a complaint's due date (the library's service level).
    public var complaintDueDays: Int
    /// The sender of the library's mail (campaigns may name their own).
    public var mailFromName: String?
    public var mailFromAddress: String?
    public var mailReplyTo: String?
    /// Mails per minute over all workers; 0: no limit.
    public var mailRatePerMinute: Int
    /// Open pixel and click redirects in campaign mail; off unless the library chooses it.
    public var mailTracking: Bool
    /// Every staff member signs in with two-factor (a code from an authenticator app).
    public var twoFactorRequired: Bool
    /// Minutes without activity after which a browser session ends (5 to 480; default 30).
    public var idleTimeoutMinutes: Int
    /// Months after the end of a membership after which an ended member's personal data is erased (default 24).
    public var retentionEndedMembersMonths: Int
    /// Months after their last activity after which an activity guest without other ties is erased (default 12).
    public var retentionGuestsMonths: Int
    /// Months that mail events (sent, opened, clicked, bounced, ...) are kept (default 13).
    public var retentionMailEventsMonths: Int
    /// Months that the library's audit log is kept (12 at least; default 24).
    public var retentionAuditMonths: Int

    /// A retention term: its setting's key, what a library may set (months), and where it lives in the settings and
    /// in a change. Defined once; loading, validating, auditing a change and the form read this list.
    struct RetentionTerm {
        let key: String
        let range: ClosedRange<Int>
        let setting: WritableKeyPath<TenantSettings, Int>
        let change: WritableKeyPath<Change, Int?>
    }

    static var retentionTerms: [RetentionTerm] {
        [
            RetentionTerm(
                key: "retention_ended_members_months", range: 1...120, setting: \.retentionEndedMembersMonths,
                change: \.retentionEndedMembersMonths),
            RetentionTerm(key: "retention_guests_months", range: 1...120, setting: \.retentionGuestsMonths, change: \.retentionGuestsMonths),
            RetentionTerm(
                key: "retention_mail_events_months", range: 1...120, setting: \.retentionMailEventsMonths, change: \.retentionMailEventsMonths),
            RetentionTerm(key: "retention_audit_months", range: 12...120, setting: \.retentionAuditMonths, change: \.retentionAuditMonths),
        ]
    }

    /// What a library may set for each retention term, in months, by key.
    public static var retentionRanges: [String: ClosedRange<Int>] {
        Dictionary(uniqueKeysWithValues: retentionTerms.map { ($0.key, $0.range) })
    }

    /// The retention terms in months, by key.
    public var retention: [String: Int] {
        Dictionary(uniqueKeysWithValues: Self.retentionTerms.map { ($0.key, self[keyPath: $0.setting]) })
    }

    public static let defaults = TenantSettings(complaintDueDays: 14)

    enum CodingKeys: String, CodingKey {
        case complaintDueDays = "complaint_due_days"
        case mailFromName = "mail_from_name"
        case mailFromAddress = "mail_from_address"
        case mailReplyTo = "mail_reply_to"
        case mailRatePerMinute = "mail_rate_per_minute"
        case mailTracking = "mail_tracking"
        case twoFactorRequired = "two_factor_required"
        case idleTimeoutMinutes = "idle_timeout_minutes"
        case retentionEndedMembersMonths = "retention_ended_members_months"
        case retentionGuestsMonths = "retention_guests_months"
        case retentionMailEventsMonths = "retention_mail_events_months"
        case retentionAuditMonths = "retention_audit_months"
    }

    public init(
        complaintDueDays: Int, mailFromName: String? = nil, mailFromAddress: String? = nil, mailReplyTo: String? = nil,
        mailRatePerMinute: Int = 0, mailTracking: Bool = false, twoFactorRequired: Bool = false,
        idleTimeoutMinutes: Int = SessionPolicy.defaultIdleMinutes, retentionEndedMembersMonths: Int = 24, retentionGuestsMonths: Int = 12,
        retentionMailEventsMonths: Int = 13, retentionAuditMonths: Int = 24
    ) {
        self.complaintDueDays = complaintDueDays
        self.mailFromName = mailFromName
        self.mailFromAddress = mailFromAddress
        self.mailReplyTo = mailReplyTo
        self.mailRatePerMinute = mailRatePerMinute
        self.mailTracking = mailTracking
        self.twoFactorRequired = twoFactorRequired
        self.idleTimeoutMinutes = idleTimeoutMinutes
        self.retentionEndedMembersMonths = retentionEndedMembersMonths
        self.retentionGuestsMonths = retentionGuestsMonths
        self.retentionMailEventsMonths = retentionMailEventsMonths
        self.retentionAuditMonths = retentionAuditMonths
    }

    /// A change of some settings; absent ones stay as they are.
    public struct Change: Sendable, Codable {
        public var complaintDueDays: Int?
        public var mailFromName: String?
        public var mailFromAddress: String?
        public var mailReplyTo: String?
        public var mailRatePerMinute: Int?
        public var mailTracking: Bool?
        public var twoFactorRequired: Bool?
        public var idleTimeoutMinutes: Int?
        public var retentionEndedMembersMonths: Int?
        public var retentionGuestsMonths: Int?
        public var retentionMailEventsMonths: Int?
        public var retentionAuditMonths: Int?

        enum CodingKeys: String, CodingKey {
            case complaintDueDays = "complaint_due_days"
            case mailFromName = "mail_from_name"
            case mailFromAddress = "mail_from_address"
            case mailReplyTo = "mail_reply_to"
            case mailRatePerMinute = "mail_rate_per_minute"
            case mailTracking = "mail_tracking"
            case twoFactorRequired = "two_factor_required"
            case idleTimeoutMinutes = "idle_timeout_minutes"
            case retentionEndedMembersMonths = "retention_ended_members_months"
            case retentionGuestsMonths = "retention_guests_months"
            case retentionMailEventsMonths = "retention_mail_events_months"
            case retentionAuditMonths = "retention_audit_months"
        }

        public init(
            complaintDueDays: Int? = nil, mailFromName: String? = nil, mailFromAddress: String? = nil, mailReplyTo: String? = nil,
            mailRatePerMinute: Int? = nil, mailTracking: Bool? = nil, twoFactorRequired: Bool? = nil, idleTimeoutMinutes: Int? = nil,
            retentionEndedMembersMonths: Int? = nil, retentionGuestsMonths: Int? = nil, retentionMailEventsMonths: Int? = nil,
            retentionAuditMonths: Int? = nil
        ) {
            self.complaintDueDays = complaintDueDays
            self.mailFromName = mailFromName
            self.mailFromAddress = mailFromAddress
            self.mailReplyTo = mailReplyTo
            self.mailRatePerMinute = mailRatePerMinute
            self.mailTracking = mailTracking
            self.twoFactorRequired = twoFactorRequired
            self.idleTimeoutMinutes = idleTimeoutMinutes
            self.retentionEndedMembersMonths = retentionEndedMembersMonths
            self.retentionGuestsMonths = retentionGuestsMonths
            self.retentionMailEventsMonths = retentionMailEventsMonths
            self.retentionAuditMonths = retentionAuditMonths
        }
    }

    public static func load(in tx: TenantTransaction) async throws -> TenantSettings {
        var settings = defaults
        for try await (key, value) in try await tx.query("SELECT key, value #>> '{}' FROM settings").decode((String, String?).self) {
            // A setting that is stored but does not read is an error, not its default.
            func number() throws -> Int { try UnreadableColumn.parse(value, as: Int.self, column: "settings.\(key)") { Int($0) } }
            func flag() throws -> Bool { try UnreadableColumn.parse(value, as: Bool.self, column: "settings.\(key)") { Bool($0) } }
            switch key {
            case "complaint_due_days": settings.complaintDueDays = try number()
            case "mail_from_name": settings.mailFromName = value
            case "mail_from_address": settings.mailFromAddress = value
            case "mail_reply_to": settings.mailReplyTo = value
            case "mail_rate_per_minute": settings.mailRatePerMinute = try number()
            case "mail_tracking": settings.mailTracking = try flag()
            case "two_factor_required": settings.twoFactorRequired = try flag()
            case "idle_timeout_minutes":
                settings.idleTimeoutMinutes = try UnreadableColumn.parse(value, as: Int.self, column: "settings.\(key)") {
                    Int($0).flatMap { SessionPolicy.idleMinutesRange.contains($0) ? $0 : nil }
                }
            default:
                guard let term = retentionTerms.first(where: { $0.key == key }) else { continue }
                settings[keyPath: term.setting] = try UnreadableColumn.parse(value, as: Int.self, column: "settings.\(key)") {
                    Int($0).flatMap { term.range.contains($0) ? $0 : nil }
                }
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
        if let name = change.mailFromName, name.isEmpty || name.count > 200 || name.contains(where: { $0.isNewline }) {
            errors.append(FieldError(field: "mail_from_name", message: "Give one line of 1 to 200 characters."))
        }
        for (field, value) in [("mail_from_address", change.mailFromAddress), ("mail_reply_to", change.mailReplyTo)] {
            if let value, EmailAddress(value) == nil { errors.append(FieldError(field: field, message: "Not a valid e-mail address.")) }
        }
        if let rate = change.mailRatePerMinute, !(0...1_000_000).contains(rate) {
            errors.append(FieldError(field: "mail_rate_per_minute", message: "Use 0 (no limit) to 1000000."))
        }
        if let minutes = change.idleTimeoutMinutes, !SessionPolicy.idleMinutesRange.contains(minutes) {
            errors.append(
                FieldError(
                    field: "idle_timeout_minutes",
                    message: "Use \(SessionPolicy.idleMinutesRange.lowerBound) to \(SessionPolicy.idleMinutesRange.upperBound) minutes."))
        }
        for term in retentionTerms {
            if let months = change[keyPath: term.change], !term.range.contains(months) {
                errors.append(FieldError(field: term.key, message: "Use \(term.range.lowerBound) to \(term.range.upperBound) months."))
            }
        }
        guard errors.isEmpty else { throw SettingsError.invalid(errors) }
        let before = try await load(in: tx)
        // A JSON string literal: quotes, backslashes and control characters escaped.
        func json(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        var changes: [(key: String, from: String, to: String, json: String)] = []
        if let days = change.complaintDueDays, days != before.complaintDueDays {
            changes.append(("complaint_due_days", String(before.complaintDueDays), String(days), String(days)))
        }
        if let name = change.mailFromName, name != before.mailFromName {
            changes.append(("mail_from_name", before.mailFromName ?? "", name, json(name)))
        }
        if let address = change.mailFromAddress?.lowercased(), address != before.mailFromAddress {
            changes.append(("mail_from_address", before.mailFromAddress ?? "", address, json(address)))
        }
        if let reply = change.mailReplyTo?.lowercased(), reply != before.mailReplyTo {
            changes.append(("mail_reply_to", before.mailReplyTo ?? "", reply, json(reply)))
        }
        if let rate = change.mailRatePerMinute, rate != before.mailRatePerMinute {
            changes.append(("mail_rate_per_minute", String(before.mailRatePerMinute), String(rate), String(rate)))
        }
        if let tracking = change.mailTracking, tracking != before.mailTracking {
            changes.append(("mail_tracking", String(before.mailTracking), String(tracking), String(tracking)))
        }
        if let required = change.twoFactorRequired, required != before.twoFactorRequired {
            changes.append(("two_factor_required", String(before.twoFactorRequired), String(required), String(required)))
        }
        if let minutes = change.idleTimeoutMinutes, minutes != before.idleTimeoutMinutes {
            changes.append(("idle_timeout_minutes", String(before.idleTimeoutMinutes), String(minutes), String(minutes)))
        }
        for term in retentionTerms {
            let was = before[keyPath: term.setting]
            if let months = change[keyPath: term.change], months != was {
                changes.append((term.key, String(was), String(months), String(months)))
            }
        }
        for change in changes {
            try await tx.query(
                """
                INSERT INTO settings (key, value, updated_at, updated_by_user_id) VALUES (\(change.key), \(change.json)::jsonb, \(now), \(actor.userID))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, updated_by_user_id = EXCLUDED.updated_by_user_id
                """)
            try await TenantAudit.record(
                "settings.changed", subjectType: "settings", subjectID: change.key, by: actor,
                details: ["from": change.from, "to": change.to], at: now, in: tx)
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
