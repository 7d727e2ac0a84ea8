import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Compiles a rule tree into one parameterised query in the tenant's schema: over `customers c` for a B2C segment,
/// over `contacts ct` (one of whose roles active today meets the rule) for a B2B segment.
///
/// SQL text comes only from the catalogue and the operators; every value of the rule is a bind parameter.
/// Relative dates ("within the last 30 days", "birthday today", "activity starts in 3 days") are computed from
/// `today`, which the caller injects, never from the database's clock.
public struct SegmentCompiler: Sendable {
    public let today: CalendarDate
    public let subject: Segment.Subject
    /// Deeper or larger trees are refused: they are mistakes, and they would make a query too large to plan well.
    public static let maximumDepth = 12
    public static let maximumConditions = 100

    public init(today: CalendarDate, subject: Segment.Subject = .b2c) {
        self.today = today
        self.subject = subject
    }

    /// Compiles `rule`, or throws `SegmentError.invalid` with the JSON path of every bad node (under `path`).
    public func compile(_ rule: SegmentRule, path: String = "rule") throws -> CompiledSegment {
        var writer = Writer(today: today, subject: subject)
        let fragment = writer.node(rule, path: path, depth: 1)
        if writer.conditions > Self.maximumConditions {
            writer.errors.append(FieldError(field: path, message: "Use at most \(Self.maximumConditions) conditions."))
        }
        guard writer.errors.isEmpty, let fragment else { throw SegmentError.invalid(writer.errors) }
        return finish(fragment.sql)
    }

    /// Everyone of the subject: every live customer, or every contact with a role active today.
    public func everyone() -> CompiledSegment {
        finish("TRUE")
    }

    private func finish(_ sql: SQL) -> CompiledSegment {
        guard subject == .b2b else { return CompiledSegment(subject: .b2c, predicate: sql, rolePredicate: nil) }
        // A role counts from its first day up to and including its last.
        let day = Writer.bindDate(today)
        let role: SQL = "cr.contact_id = ct.id AND cr.active_from <= \(day) AND (cr.active_to IS NULL OR cr.active_to >= \(day)) AND \(sql)"
        return CompiledSegment(
            subject: .b2b,
            predicate: "EXISTS (SELECT 1 FROM contact_roles cr JOIN organisations o ON o.id = cr.organisation_id WHERE \(role))",
            rolePredicate: role)
    }

    /// Days from 2000-01-01 (PostgreSQL's date epoch) to `date`, by the proleptic Gregorian calendar.
    static func daysSince2000(_ date: CalendarDate) -> Int {
        date.daysSince1970 - 10_957
    }

    /// A piece of WHERE clause; `nullable` when it can be NULL (a comparison on a column without a value), which
    /// `not` must then turn into false so that "not X" is exactly everyone outside X.
    struct Fragment {
        let sql: SQL
        let nullable: Bool
    }

    struct Writer {
        let today: CalendarDate
        let subject: Segment.Subject
        var errors: [FieldError] = []
        var conditions = 0

        func bind(_ value: some PostgresDynamicTypeEncodable & Sendable) -> SQL {
            "\(value)"
        }

        /// A day as PostgreSQL's date epoch plus a whole number: `date + integer` is immutable, so the planner
        /// folds it into a constant. (A text parameter cast to date is not: the cast depends on DateStyle, and it
        /// ran once per row, a quarter of a count over a million customers.)
        static func bindDate(_ date: CalendarDate) -> SQL { "(DATE '2000-01-01' + \(SegmentCompiler.daysSince2000(date))::integer)" }

        func bindDate(_ date: CalendarDate) -> SQL { Self.bindDate(date) }

        mutating func fail(_ path: String, _ message: String) -> Fragment? {
            errors.append(FieldError(field: path, message: message))
            return nil
        }

        mutating func node(_ rule: SegmentRule, path: String, depth: Int) -> Fragment? {
            if depth > SegmentCompiler.maximumDepth { return fail(path, "Nest rules at most \(SegmentCompiler.maximumDepth) deep.") }
            if case .any(let rules) = rule, let folded = folded(rules, path: path, depth: depth) { return folded }
            switch rule {
            case .all(let rules), .any(let rules):
                let key = if case .all = rule { "all" } else { "any" }
                if rules.isEmpty { return fail("\(path).\(key)", "Give at least one rule.") }
                var parts: [Fragment] = []
                for (index, child) in rules.enumerated() {
                    if let part = node(child, path: "\(path).\(key)[\(index)]", depth: depth + 1) { parts.append(part) }
                }
                guard parts.count == rules.count else { return nil }
                if parts.count == 1 { return parts[0] }
                return Fragment(
                    sql: "(\(parts.map(\.sql).joined(separator: key == "all" ? " AND " : " OR ")))",
                    nullable: parts.contains(where: \.nullable))
            case .not(let child):
                guard let inner = node(child, path: "\(path).not", depth: depth + 1) else { return nil }
                return Fragment(sql: inner.nullable ? "NOT coalesce(\(inner.sql), false)" : "NOT \(inner.sql)", nullable: false)
            case .condition(let condition):
                conditions += 1
                return self.condition(condition, path: path)
            }
        }

        /// `any` of `=` conditions on one field, as one `in`: `branch = ANY($1)` instead of `branch = $1 OR branch = $2`,
        /// which PostgreSQL can answer from one index scan (an OR of equalities needs a bitmap of the table's rows).
        /// Only when every condition is valid on its own, so that errors keep naming the node the staff member wrote.
        mutating func folded(_ rules: [SegmentRule], path: String, depth: Int) -> Fragment? {
            guard rules.count > 1, depth < SegmentCompiler.maximumDepth else { return nil }
            var values: [SegmentValue] = []
            var name: String?
            for rule in rules {
                guard case .condition(let condition) = rule, condition.op == SegmentOperator.equal.rawValue, name == nil || name == condition.field,
                    let value = condition.value
                else { return nil }
                name = condition.field
                values.append(value)
            }
            guard let name, let field = SegmentField.catalogue(for: subject)[name], field.operators.contains(.in) else { return nil }
            switch field.kind {
            case .text, .identifier: break
            default: return nil
            }
            var probe = self
            for (index, rule) in rules.enumerated() where probe.node(rule, path: "\(path).any[\(index)]", depth: depth + 1) == nil { return nil }
            conditions += rules.count - 1
            return node(
                .condition(SegmentCondition(field: name, op: SegmentOperator.in.rawValue, value: .array(values))), path: path, depth: depth + 1)
        }

        mutating func condition(_ condition: SegmentCondition, path: String) -> Fragment? {
            guard let field = SegmentField.catalogue(for: subject)[condition.field] else {
                let names = SegmentField.fields(for: subject).map(\.name).joined(separator: ", ")
                return fail("\(path).field", "Unknown field for a \(subject.rawValue) segment. Use one of: \(names).")
            }
            guard let op = SegmentOperator(rawValue: condition.op), field.operators.contains(op) else {
                return fail("\(path).op", "\(field.name) takes \(field.operators.map(\.rawValue).joined(separator: ", ")).")
            }
            let value = Value(raw: condition.value, path: "\(path).value")
            if op == .isEmpty {
                guard value.isAbsent else { return fail(value.path, "is_empty takes no value.") }
            }
            let fragment: Fragment?
            switch field.kind {
            case .number(let sql, let nullable):
                fragment = number(sql, op: op, value: value).map { Fragment(sql: $0, nullable: nullable) }
            case .elapsed(let column, let unit):
                fragment = elapsed(column, unit: unit, op: op, value: value)
            case .date(let column):
                fragment = date(column, op: op, value: value)
            case .text(let column, let choices):
                fragment = text(column, choices: choices, op: op, value: value)
            case .identifier(let column):
                fragment = identifier(column, op: op, value: value)
            case .textList(let column, let choices):
                fragment = textList(column, choices: choices, op: op, value: value)
            case .flag(let sql):
                fragment = value.bool(&errors).map { Fragment(sql: $0 ? SQL(unescaped: sql) : "NOT \(unescaped: sql)", nullable: false) }
            case .consent:
                fragment = consent(op: op, value: value)
            case .activity(let statuses):
                fragment = activity(statuses: statuses, value: value)
            case .evaluationScore:
                fragment = number("e.score", op: op, value: value).map {
                    Fragment(
                        sql:
                            "EXISTS (SELECT 1 FROM evaluations e JOIN registrations r ON r.id = e.registration_id WHERE r.customer_id = c.id AND \($0))",
                        nullable: false)
                }
            case .householdYouthAge:
                fragment = householdYouthAge(value: value)
            case .campaignEvent(let kind):
                fragment = campaignEvent(kind: kind, value: value)
            }
            return fragment
        }

        // MARK: Types

        mutating func number(_ sql: String, op: SegmentOperator, value: Value) -> SQL? {
            switch op {
            case .isEmpty: return "\(unescaped: sql) IS NULL"
            case .between:
                guard let (low, high) = value.range(&errors) else { return nil }
                return "\(unescaped: sql) BETWEEN \(bind(low)) AND \(bind(high))"
            case .in:
                guard let list = value.list(&errors, { $0.integer(&$1) }) else { return nil }
                return "\(unescaped: sql) = ANY(\(bind(list)))"
            default:
                guard let number = value.integer(&errors), let symbol = Self.comparison[op] else { return nil }
                return "\(unescaped: sql) \(unescaped: symbol) \(bind(number))"
            }
        }

        static let comparison: [SegmentOperator: String] = [
            .equal: "=", .notEqual: "<>", .less: "<", .lessOrEqual: "<=", .greater: ">", .greaterOrEqual: ">=",
        ]

        /// Whole units since `column` are at least `n` exactly when `column <= today - n units`; every comparison
        /// is written that way round.
        mutating func elapsed(_ name: String, unit: SegmentField.ElapsedUnit, op: SegmentOperator, value: Value) -> Fragment? {
            let today = self.today
            let column = SQL(unescaped: name)
            func upTo(_ n: Int) -> CalendarDate { unit == .years ? today.minus(years: n) : today.adding(days: -n) }
            func exactly(_ n: Int) -> SQL {
                "(\(column) <= \(bindDate(upTo(n))) AND \(column) > \(bindDate(upTo(n + 1))))"
            }
            let sql: SQL
            switch op {
            case .isEmpty: return Fragment(sql: "\(column) IS NULL", nullable: false)
            case .between:
                guard let (low, high) = value.range(&errors, maximum: 36_500) else { return nil }
                sql = "(\(column) <= \(bindDate(upTo(low))) AND \(column) > \(bindDate(upTo(high + 1))))"
            case .in:
                guard let list = value.list(&errors, { $0.integer(&$1, maximum: 36_500) }) else { return nil }
                sql = "(\(list.map(exactly).joined(separator: " OR ")))"
            default:
                guard let n = value.integer(&errors, maximum: 36_500) else { return nil }
                switch op {
                case .equal: sql = exactly(n)
                case .notEqual: sql = "NOT \(exactly(n))"
                case .greaterOrEqual: sql = "\(column) <= \(bindDate(upTo(n)))"
                case .greater: sql = "\(column) <= \(bindDate(upTo(n + 1)))"
                case .less: sql = "\(column) > \(bindDate(upTo(n)))"
                default: sql = "\(column) > \(bindDate(upTo(n + 1)))"
                }
            }
            return Fragment(sql: sql, nullable: true)
        }

        mutating func date(_ name: String, op: SegmentOperator, value: Value) -> Fragment? {
            let column = SQL(unescaped: name)
            let sql: SQL
            switch op {
            case .isEmpty: return Fragment(sql: "\(column) IS NULL", nullable: false)
            case .between:
                guard let (low, high) = value.dateRange(&errors) else { return nil }
                sql = "\(column) BETWEEN \(bindDate(low)) AND \(bindDate(high))"
            case .withinLastDays:
                guard let days = value.integer(&errors, maximum: 36_500) else { return nil }
                sql = "\(column) BETWEEN \(bindDate(today.adding(days: -days))) AND \(bindDate(today))"
            case .withinNextDays:
                guard let days = value.integer(&errors, maximum: 36_500) else { return nil }
                sql = "\(column) BETWEEN \(bindDate(today)) AND \(bindDate(today.adding(days: days)))"
            case .anniversaryInDays:
                guard let days = value.integer(&errors, maximum: 366) else { return nil }
                let day = today.adding(days: days)
                var monthDays = [String(format: "%02d-%02d", day.month, day.day)]
                if day.month == 2, day.day == 28, CalendarDate.days(inMonth: 2, year: day.year) == 28 { monthDays.append("02-29") }
                sql = "to_char(\(column), 'MM-DD') = ANY(\(bind(monthDays)))"
            default:
                guard let date = value.date(&errors), let symbol = Self.comparison[op] else { return nil }
                sql = "\(column) \(unescaped: symbol) \(bindDate(date))"
            }
            return Fragment(sql: sql, nullable: true)
        }

        mutating func text(_ name: String, choices: [String]?, op: SegmentOperator, value: Value) -> Fragment? {
            let column = SQL(unescaped: name)
            switch op {
            case .isEmpty: return Fragment(sql: "\(column) IS NULL", nullable: false)
            case .in:
                guard let list = value.list(&errors, { $0.text(&$1, choices: choices) }) else { return nil }
                return Fragment(sql: "\(column) = ANY(\(bind(list)))", nullable: true)
            default:
                guard let text = value.text(&errors, choices: choices) else { return nil }
                return Fragment(sql: "\(column) \(unescaped: op == .equal ? "=" : "<>") \(bind(text))", nullable: true)
            }
        }

        mutating func identifier(_ name: String, op: SegmentOperator, value: Value) -> Fragment? {
            let column = SQL(unescaped: name)
            switch op {
            case .isEmpty: return Fragment(sql: "\(column) IS NULL", nullable: false)
            case .in:
                guard let list = value.list(&errors, { $0.identifier(&$1) }) else { return nil }
                return Fragment(sql: "\(column) = ANY(\(bind(list)))", nullable: true)
            default:
                guard let id = value.identifier(&errors) else { return nil }
                return Fragment(sql: "\(column) \(unescaped: op == .equal ? "=" : "<>") \(bind(id))", nullable: true)
            }
        }

        mutating func textList(_ name: String, choices: [String]?, op: SegmentOperator, value: Value) -> Fragment? {
            let column = SQL(unescaped: name)
            switch op {
            case .isEmpty: return Fragment(sql: "cardinality(\(column)) = 0", nullable: false)
            case .in:
                guard let list = value.list(&errors, { $0.text(&$1, choices: choices) }) else { return nil }
                return Fragment(sql: "\(column) && \(bind(list))", nullable: false)
            default:
                guard let text = value.text(&errors, choices: choices) else { return nil }
                return Fragment(sql: "\(column) @> \(bind([text]))", nullable: false)
            }
        }

        // MARK: Related records

        /// The latest statement per topic is what holds; a later withdrawal ends an earlier opt-in.
        mutating func consent(op: SegmentOperator, value: Value) -> Fragment? {
            let topics: [String]?
            if op == .in {
                topics = value.list(&errors, { $0.text(&$1, choices: nil) })
            } else {
                topics = value.text(&errors, choices: nil).map { [$0] }
            }
            guard let topics else { return nil }
            // consent_state holds each customer's latest statement per topic (migration 0012). With one topic
            // the planner can see that a customer matches at most one row and join from the smaller side.
            let topic: SQL = topics.count == 1 ? "k.topic = \(bind(topics[0]))" : "k.topic = ANY(\(bind(topics)))"
            if subject == .b2b {
                // Contacts are a few thousand per library: their latest statement per topic is read from the history.
                return Fragment(
                    sql: """
                        EXISTS (SELECT 1 FROM (SELECT DISTINCT ON (k.topic) k.status FROM contact_consents k WHERE k.contact_id = ct.id AND \(topic) \
                        ORDER BY k.topic, k.recorded_at DESC, k.id DESC) latest WHERE latest.status IN ('opted_in', 'confirmed'))
                        """, nullable: false)
            }
            return Fragment(
                sql: """
                    EXISTS (SELECT 1 FROM consent_state k WHERE k.customer_id = c.id AND \(topic) \
                    AND k.status IN ('opted_in', 'confirmed'))
                    """, nullable: false)
        }

        /// `{"category": "youth" | [...], "branch": id | [...], "within_last_days": N, "within_next_days": N,
        /// "starts_in_days": N}`, all optional; days are the activity's start day in the Netherlands.
        mutating func activity(statuses: [String], value: Value) -> Fragment? {
            guard let filters = value.object(&errors, allowed: ["category", "branch", "within_last_days", "within_next_days", "starts_in_days"])
            else { return nil }
            let today = self.today
            // The statuses come from the catalogue, never from the rule.
            var sql: SQL = """
                EXISTS (SELECT 1 FROM registrations r JOIN activities a ON a.id = r.activity_id WHERE r.customer_id = c.id \
                AND r.status IN (\(unescaped: statuses.map { "'\($0)'" }.joined(separator: ", ")))
                """
            var ok = true
            if let category = filters["category"] {
                if let list = category.oneOrMany(&errors, { $0.text(&$1, choices: nil) }) {
                    sql += " AND a.category = ANY(\(bind(list)))"
                } else {
                    ok = false
                }
            }
            if let branch = filters["branch"] {
                if let list = branch.oneOrMany(&errors, { $0.identifier(&$1) }) { sql += " AND a.branch_id = ANY(\(bind(list)))" } else { ok = false }
            }
            let windows: [(String, (Int) -> (CalendarDate, CalendarDate))] = [
                ("within_last_days", { n in (today.adding(days: -n), today) }),
                ("within_next_days", { n in (today, today.adding(days: n)) }),
                ("starts_in_days", { n in (today.adding(days: n), today.adding(days: n)) }),
            ]
            for (key, range) in windows {
                guard let filter = filters[key] else { continue }
                if let n = filter.integer(&errors, maximum: 36_500) {
                    let (from, to) = range(n)
                    // From the first to the last day in the Netherlands, as instants, so that an index on
                    // starts_at applies and the planner can estimate how many activities fall in the window.
                    sql += """
                         AND a.starts_at >= \(bindDate(from))::timestamp AT TIME ZONE 'Europe/Amsterdam' \
                        AND a.starts_at < (\(bindDate(to)) + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam'
                        """
                } else {
                    ok = false
                }
            }
            return ok ? Fragment(sql: sql + ")", nullable: false) : nil
        }

        /// `[low, high]` ages: someone else at the customer's address, or a child linked to the customer.
        mutating func householdYouthAge(value: Value) -> Fragment? {
            guard let (low, high) = value.range(&errors, maximum: 18) else { return nil }
            let upper = bindDate(today.minus(years: low))
            let lower = bindDate(today.minus(years: high + 1))
            let age: SQL = "h.merged_into IS NULL AND h.erased_at IS NULL AND h.birth_date <= \(upper) AND h.birth_date > \(lower)"
            return Fragment(
                sql: """
                    (EXISTS (SELECT 1 FROM customers h WHERE h.household_id = c.household_id AND h.id <> c.id AND \(age)) \
                    OR EXISTS (SELECT 1 FROM household_links hl JOIN customers h ON h.id = hl.child_id WHERE hl.parent_id = c.id AND \(age)))
                    """, nullable: false)
        }

        /// `{"campaign": id | [...], "within_last_days": N}`, both optional.
        mutating func campaignEvent(kind: String, value: Value) -> Fragment? {
            guard let filters = value.object(&errors, allowed: ["campaign", "within_last_days"]) else { return nil }
            let recipient: SQL = subject == .b2c ? "ev.customer_id = c.id" : "ev.contact_id = ct.id"
            var sql: SQL = "EXISTS (SELECT 1 FROM campaign_events ev WHERE \(recipient) AND ev.kind = \(bind(kind))"
            var ok = true
            if let campaign = filters["campaign"] {
                if let list = campaign.oneOrMany(&errors, { $0.identifier(&$1) }) {
                    sql += " AND ev.campaign_id = ANY(\(bind(list)))"
                } else {
                    ok = false
                }
            }
            if let days = filters["within_last_days"] {
                if let n = days.integer(&errors, maximum: 36_500) {
                    sql += " AND (ev.at AT TIME ZONE 'Europe/Amsterdam')::date >= \(bindDate(today.adding(days: -n)))"
                } else {
                    ok = false
                }
            }
            return ok ? Fragment(sql: sql + ")", nullable: false) : nil
        }
    }

    /// A condition's value with its JSON path, read as the field's type requires.
    struct Value {
        let raw: SegmentValue?
        let path: String

        var isAbsent: Bool { raw == nil || raw == .null }

        func fail<T>(_ errors: inout [FieldError], _ message: String) -> T? {
            errors.append(FieldError(field: path, message: message))
            return nil
        }

        func integer(_ errors: inout [FieldError], maximum: Int = 1_000_000_000) -> Int? {
            guard case .number(let number)? = raw, let whole = Int(exactly: number), (0...maximum).contains(whole) else {
                return fail(&errors, "Give a whole number from 0 to \(maximum).")
            }
            return whole
        }

        func bool(_ errors: inout [FieldError]) -> Bool? {
            guard case .bool(let flag)? = raw else { return fail(&errors, "Give true or false.") }
            return flag
        }

        func text(_ errors: inout [FieldError], choices: [String]?) -> String? {
            guard case .string(let text)? = raw, !text.isEmpty, text.count <= 200 else { return fail(&errors, "Give a text of 1 to 200 characters.") }
            if let choices, !choices.contains(text) { return fail(&errors, "Use one of \(choices.joined(separator: ", ")).") }
            return text
        }

        func identifier(_ errors: inout [FieldError]) -> UUID? {
            guard case .string(let text)? = raw, let id = UUID(uuidString: text) else { return fail(&errors, "Give an id.") }
            return id
        }

        func date(_ errors: inout [FieldError]) -> CalendarDate? {
            guard case .string(let text)? = raw, let date = CalendarDate(text) else { return fail(&errors, "Give a date as YYYY-MM-DD.") }
            return date
        }

        /// `[low, high]` whole numbers, low <= high.
        func range(_ errors: inout [FieldError], maximum: Int = 1_000_000_000) -> (Int, Int)? {
            guard case .array(let items)? = raw, items.count == 2 else { return fail(&errors, "Give [low, high].") }
            let low = Value(raw: items[0], path: "\(path)[0]")
            let high = Value(raw: items[1], path: "\(path)[1]")
            guard let a = low.integer(&errors, maximum: maximum), let b = high.integer(&errors, maximum: maximum) else { return nil }
            guard a <= b else { return fail(&errors, "The low end must not be above the high end.") }
            return (a, b)
        }

        func dateRange(_ errors: inout [FieldError]) -> (CalendarDate, CalendarDate)? {
            guard case .array(let items)? = raw, items.count == 2 else { return fail(&errors, "Give [from, to] as YYYY-MM-DD.") }
            guard let a = Value(raw: items[0], path: "\(path)[0]").date(&errors), let b = Value(raw: items[1], path: "\(path)[1]").date(&errors)
            else { return nil }
            guard a <= b else { return fail(&errors, "The start must not be after the end.") }
            return (a, b)
        }

        /// A non-empty list, each item read by `item`, with its own path on failure.
        func list<T>(_ errors: inout [FieldError], _ item: (Value, inout [FieldError]) -> T?) -> [T]? {
            guard case .array(let items)? = raw, (1...1000).contains(items.count) else { return fail(&errors, "Give a list of 1 to 1000 values.") }
            var result: [T] = []
            for (index, raw) in items.enumerated() {
                if let value = item(Value(raw: raw, path: "\(path)[\(index)]"), &errors) { result.append(value) }
            }
            return result.count == items.count ? result : nil
        }

        /// One value or a list of them.
        func oneOrMany<T>(_ errors: inout [FieldError], _ item: (Value, inout [FieldError]) -> T?) -> [T]? {
            if case .array = raw { return list(&errors, item) }
            return item(self, &errors).map { [$0] }
        }

        /// The filters of an `exists` condition: an object (or nothing) with only the allowed keys.
        func object(_ errors: inout [FieldError], allowed: Set<String>) -> [String: Value]? {
            if isAbsent { return [:] }
            guard case .object(let members)? = raw else {
                return fail(&errors, "Give an object with any of: \(allowed.sorted().joined(separator: ", ")).")
            }
            if let unknown = Set(members.keys).subtracting(allowed).sorted().first {
                errors.append(
                    FieldError(field: "\(path).\(unknown)", message: "Unknown filter. Use any of: \(allowed.sorted().joined(separator: ", "))."))
                return nil
            }
            return members.reduce(into: [String: Value]()) { $0[$1.key] = Value(raw: $1.value, path: "\(path).\($1.key)") }
        }
    }
}

/// A compiled rule: a predicate over `customers c` (B2C) or `contacts ct` (B2B) with its bind parameters, in the
/// forms segments are used.
public struct CompiledSegment: Sendable {
    public let subject: Segment.Subject
    /// The WHERE condition (without the base condition).
    public let predicate: SQL
    /// B2B: the condition on one role `cr` at its organisation `o` of contact `ct` (active today, meeting the rule),
    /// for a query that wants to know which role matched.
    public let rolePredicate: SQL?

    /// Merged-away duplicates and erased customers are never in a segment.
    public static let baseCondition: SQL = "c.merged_into IS NULL AND c.erased_at IS NULL"

    /// The table and alias the predicate is written over.
    public var from: SQL { subject == .b2c ? "customers c" : "contacts ct" }
    var alias: SQL { subject == .b2c ? "c" : "ct" }

    /// A deleted contact is gone from `contacts`, so contacts need no base condition.
    public var whereClause: SQL { subject == .b2c ? "\(Self.baseCondition) AND \(predicate)" : predicate }

    public var countQuery: PostgresQuery {
        let sql: SQL = "SELECT count(*) FROM \(from) WHERE \(whereClause)"
        return sql.query
    }

    public var idsQuery: PostgresQuery {
        let sql: SQL = "SELECT \(alias).id FROM \(from) WHERE \(whereClause)"
        return sql.query
    }

    /// The first `limit` customers (or contacts) by id: id and name only.
    public func sampleQuery(limit: Int) -> PostgresQuery {
        let sql: SQL = """
            SELECT \(alias).id, \(alias).first_name, \(alias).infix, \(alias).last_name FROM \(from) WHERE \(whereClause) \
            ORDER BY \(alias).id LIMIT \(limit)
            """
        return sql.query
    }
}

extension CalendarDate {
    /// The same day `years` earlier; 29 February becomes 28 February in a common year (as PostgreSQL's interval).
    func minus(years: Int) -> CalendarDate {
        let target = year - years
        return CalendarDate(year: target, month: month, day: min(day, CalendarDate.days(inMonth: month, year: target))) ?? self
    }
}
