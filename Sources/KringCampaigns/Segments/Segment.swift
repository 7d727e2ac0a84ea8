import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A saved segment: a named rule tree. Every change is a new version; earlier versions stay readable.
public struct Segment: Sendable, Codable, Equatable {
    public enum Subject: String, Sendable, Codable, CaseIterable {
        case b2c, b2b

        /// The message for a value that is neither.
        public static let choices = "Use b2c (customers) or b2b (contacts at organisations)."
    }

    public let id: UUID
    public let name: String
    public let subject: Subject
    public let version: Int
    public let rule: SegmentRule
    public let createdBy: UUID?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = "id, name, subject, version, rule::text, created_by, created_at, updated_at"

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        name = try c[1].decode(String.self)
        subject = try c[2].decodeEnum(Subject.self)
        version = try c[3].decode(Int.self)
        rule = try c[4].decodeJSON(SegmentRule.self)
        createdBy = try c[5].decode(UUID?.self)
        createdAt = try c[6].decode(Date.self)
        updatedAt = try c[7].decode(Date.self)
    }
}

/// A segment to save: `{"name", "subject", "rule"}`; on a replace also `version`, the version it changes.
public struct SegmentDraft: Sendable, Decodable {
    public var name: String
    public var subject: String?
    public var rule: SegmentRule
    public var version: Int?

    public init(name: String, subject: String? = nil, rule: SegmentRule, version: Int? = nil) {
        self.name = name
        self.subject = subject
        self.rule = rule
        self.version = version
    }

    /// Checks the name and subject (b2c when absent; `current` when replacing, which cannot change) and compiles the
    /// rule against the subject's fields, so an invalid segment is never saved.
    public func validate(today: CalendarDate, current: Segment.Subject? = nil) throws -> SegmentDraft {
        var errors: [FieldError] = []
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 200 characters.")) }
        var chosen = current ?? .b2c
        if let subject {
            if let parsed = Segment.Subject(rawValue: subject) {
                if let current, parsed != current {
                    errors.append(
                        FieldError(field: "subject", message: "A \(current.rawValue) segment stays \(current.rawValue); save a new segment instead."))
                }
                chosen = parsed
            } else {
                errors.append(FieldError(field: "subject", message: Segment.Subject.choices))
            }
        }
        do {
            _ = try SegmentCompiler(today: today, subject: chosen).compile(rule)
        } catch SegmentError.invalid(let ruleErrors) {
            errors += ruleErrors
        }
        guard errors.isEmpty else { throw SegmentError.invalid(errors) }
        return SegmentDraft(name: name, subject: chosen.rawValue, rule: rule, version: version)
    }
}

/// A preview: how many customers a rule selects, and (for those who may see them) the first 20.
public struct SegmentPreview: Sendable, Codable, Equatable {
    /// A customer (b2c) or a contact (b2b).
    public struct SampleCustomer: Sendable, Codable, Equatable {
        public let id: UUID
        public let name: String
    }

    public let count: Int
    /// Absent when the caller may see counts only.
    public let sample: [SampleCustomer]?
}

/// A saved segment's size now.
public struct SegmentCount: Sendable, Codable, Equatable {
    public let id: UUID
    public let version: Int
    public let count: Int
}

public enum SegmentError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case versionMismatch(current: Int)
    case versionRequired

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors, detail: "The segment has invalid fields or rules.")
        case .notFound: .notFound("No such segment in this library.")
        case .versionMismatch(let current):
            Problem(
                status: 412, type: "https://kring.nl/problems/version-mismatch", title: "Changed by someone else",
                detail: "The segment was changed since you read it (now version \(current)). Reload and apply your change again.")
        case .versionRequired:
            Problem(
                status: 428, type: "https://kring.nl/problems/version-required", title: "Version required",
                detail: "Send If-Match (or version in the body) with the version you read, so a concurrent change is not overwritten.")
        }
    }
}

public enum Segments {
    /// Customers shown in a preview.
    public static let sampleSize = 20
    /// A segment count over a large library must not hold a connection indefinitely.
    static let statementTimeoutMilliseconds = 15_000

    public static func create(_ draft: SegmentDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Segment {
        let valid = try draft.validate(today: CalendarDate(now))
        let id = UUID()
        let rule = try encode(valid.rule)
        let rows = try await tx.query(
            """
            INSERT INTO segments (id, name, subject, version, rule, created_by, created_at, updated_at)
            VALUES (\(id), \(valid.name), \(valid.subject), 1, \(rule)::jsonb, \(actor.userID), \(now), \(now))
            RETURNING \(unescaped: Segment.columns)
            """)
        let segment = try await single(rows)
        try await saveVersion(segment, in: tx)
        try await TenantAudit.record("segment.created", subjectType: "segment", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return segment
    }

    /// A new version; `expectedVersion` is the one the caller read (a lost update answers 412).
    public static func replace(
        id: UUID, with draft: SegmentDraft, expectedVersion: Int, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> Segment {
        let current = try await find(id: id, forUpdate: true, in: tx)
        let valid = try draft.validate(today: CalendarDate(now), current: current.subject)
        guard current.version == expectedVersion else { throw SegmentError.versionMismatch(current: current.version) }
        let rule = try encode(valid.rule)
        let rows = try await tx.query(
            """
            UPDATE segments SET name = \(valid.name), rule = \(rule)::jsonb, version = version + 1, updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: Segment.columns)
            """)
        let segment = try await single(rows)
        try await saveVersion(segment, by: actor, in: tx)
        try await TenantAudit.record(
            "segment.updated", subjectType: "segment", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["version": String(segment.version)], at: now, in: tx)
        return segment
    }

    public static func find(id: UUID, forUpdate: Bool = false, in tx: TenantTransaction) async throws -> Segment {
        let rows = try await tx.query(
            "SELECT \(unescaped: Segment.columns) FROM segments WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")")
        for try await row in rows { return try Segment(row: row) }
        throw SegmentError.notFound
    }

    /// An earlier version as it was saved.
    public static func find(id: UUID, version: Int, in tx: TenantTransaction) async throws -> Segment {
        let rows = try await tx.query(
            """
            SELECT s.id, v.name, s.subject, v.version, v.rule::text, v.created_by, s.created_at, v.created_at
            FROM segment_versions v JOIN segments s ON s.id = v.segment_id WHERE v.segment_id = \(id) AND v.version = \(version)
            """)
        for try await row in rows { return try Segment(row: row) }
        throw SegmentError.notFound
    }

    /// One saved version of a segment: its number, name, who saved it and when.
    public struct Version: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let createdBy: UUID?
        public let createdAt: Date
    }

    /// Every version of a segment, newest first.
    public static func versions(id: UUID, in tx: TenantTransaction) async throws -> [Version] {
        var versions: [Version] = []
        for try await (version, name, by, at) in try await tx.query(
            "SELECT version, name, created_by, created_at FROM segment_versions WHERE segment_id = \(id) ORDER BY version DESC"
        ).decode((Int, String, UUID?, Date).self) {
            versions.append(Version(version: version, name: name, createdBy: by, createdAt: at))
        }
        return versions
    }

    /// Saved segments by id (keyset: `after` is the last id of the previous page).
    public static func list(after: UUID?, limit: Int, in tx: TenantTransaction) async throws -> [Segment] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Segment.columns) FROM segments WHERE \(after == nil) OR id > \(after ?? UUID()) ORDER BY id LIMIT \(limit)
            """)
        var segments: [Segment] = []
        for try await row in rows { segments.append(try Segment(row: row)) }
        return segments
    }

    /// Counts an unsaved rule and, when `withSample`, lists its first 20 customers or contacts (id and name). A shown
    /// sample is personal data: which people were shown to whom is audited.
    public static func preview(
        _ rule: SegmentRule, subject: Segment.Subject = .b2c, withSample: Bool, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> SegmentPreview {
        let compiled = try SegmentCompiler(today: CalendarDate(now), subject: subject).compile(rule)
        try await prepareCount(in: tx)
        let count = try await count(compiled, in: tx)
        guard withSample else { return SegmentPreview(count: count, sample: nil) }
        var sample: [SegmentPreview.SampleCustomer] = []
        for try await (id, first, infix, last) in try await tx.query(compiled.sampleQuery(limit: sampleSize)).decode(
            (UUID, String?, String?, String?).self)
        {
            sample.append(.init(id: id, name: [first, infix, last].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")))
        }
        try await TenantAudit.record(
            "segment.previewed", subjectType: "segment", subjectID: nil, by: actor,
            details: [
                "subject": subject.rawValue, "count": String(count),
                subject == .b2c ? "shown_customers" : "shown_contacts": sample.map { $0.id.uuidString.lowercased() }.joined(separator: " "),
            ],
            at: now, in: tx)
        return SegmentPreview(count: count, sample: sample)
    }

    /// The size of a saved segment's current version today.
    public static func count(id: UUID, now: Date, in tx: TenantTransaction) async throws -> SegmentCount {
        let segment = try await find(id: id, in: tx)
        let compiled = try SegmentCompiler(today: CalendarDate(now), subject: segment.subject).compile(segment.rule)
        try await prepareCount(in: tx)
        return SegmentCount(id: id, version: segment.version, count: try await count(compiled, in: tx))
    }

    public static func count(_ compiled: CompiledSegment, in tx: TenantTransaction) async throws -> Int {
        try await tx.query(compiled.countQuery).decode(Int.self).reduce(0, +)
    }

    // MARK: Helpers

    /// Settings for a transaction that counts a segment, transaction-local so the pool cannot leak them: a time
    /// limit; no JIT compilation, which costs more than it saves on a count that takes well under a second; memory
    /// for the hash of a list's subscribers, which otherwise spills to disk in batches; and the cost of a random page
    /// read as on solid-state storage or in memory (1.1, not the default 4 of a spinning disk), so that the planner
    /// reads the covering index of branch, status and type (customers_branch_status) instead of the whole table:
    /// at a million customers that halves a count.
    public static func prepareCount(in tx: TenantTransaction) async throws {
        let rows = try await tx.query(
            """
            SELECT set_config('statement_timeout', \(String(statementTimeoutMilliseconds)), true),
                   set_config('jit', 'off', true), set_config('work_mem', '32MB', true), set_config('random_page_cost', '1.1', true)
            """)
        for try await _ in rows.decode((String, String, String, String).self) {}
    }

    static func saveVersion(_ segment: Segment, by actor: AuditActor? = nil, in tx: TenantTransaction) async throws {
        try await tx.query(
            """
            INSERT INTO segment_versions (segment_id, version, name, rule, created_by, created_at)
            VALUES (\(segment.id), \(segment.version), \(segment.name), \(try encode(segment.rule))::jsonb, \(actor?.userID ?? segment.createdBy), \(segment.updatedAt))
            """)
    }

    static func encode(_ rule: SegmentRule) throws -> String {
        String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
    }

    static func single(_ rows: PostgresRowSequence) async throws -> Segment {
        for try await row in rows { return try Segment(row: row) }
        throw NoRowReturned()
    }
}
