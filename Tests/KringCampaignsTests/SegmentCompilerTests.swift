import Foundation
import KringCore
import Testing

@testable import KringCampaigns

/// A rule and the SQL a person would write by hand for it, on the same data.
struct SegmentCase: Sendable, CustomTestStringConvertible {
    /// The rule as JSON; `{b1}`, `{b2}`, `{c1}` stand for the first two branches and the first campaign.
    let rule: String
    /// A condition over `customers c`; `{today}` is the test's day as a date literal.
    let sql: String

    init(_ rule: String, _ sql: String) {
        self.rule = rule
        self.sql = sql
    }

    var testDescription: String { rule }

    static let today = "DATE '\(SegmentLibrary.today)'"
    static let age = "date_part('year', age(\(today), c.birth_date))"
    static let years = "date_part('year', age(\(today), c.membership_start))"
    static func score(_ condition: String) -> String {
        "c.id IN (SELECT r.customer_id FROM evaluations e JOIN registrations r ON r.id = e.registration_id WHERE \(condition))"
    }
    static func latestConsent(_ topics: String) -> String {
        """
        c.id IN (SELECT customer_id FROM (SELECT DISTINCT ON (customer_id, topic) customer_id, status FROM consents WHERE topic IN (\(topics))
                 ORDER BY customer_id, topic, recorded_at DESC, id DESC) latest WHERE status IN ('opted_in', 'confirmed'))
        """
    }
    /// The postcodes of the current Mosaic delivery that meet `condition`.
    static func mosaic(_ condition: String) -> String {
        """
        (SELECT p.postcode FROM reference.mosaic_postcodes p JOIN reference.mosaic_deliveries d ON d.id = p.delivery_id
         WHERE d.current AND \(condition))
        """
    }
    /// Midnight in the Netherlands, `days` from the test's day.
    static func midnight(_ days: Int) -> String { "((\(today) + \(days))::timestamp AT TIME ZONE 'Europe/Amsterdam')" }

    static let all: [SegmentCase] = [
        // Whole years since a date: age, membership years.
        SegmentCase(#"{"field": "age", "op": "=", "value": 40}"#, "\(age) = 40"),
        SegmentCase(#"{"field": "age", "op": "!=", "value": 40}"#, "\(age) <> 40"),
        SegmentCase(#"{"field": "age", "op": "<", "value": 18}"#, "\(age) < 18"),
        SegmentCase(#"{"field": "age", "op": "<=", "value": 12}"#, "\(age) <= 12"),
        SegmentCase(#"{"field": "age", "op": ">", "value": 65}"#, "\(age) > 65"),
        SegmentCase(#"{"field": "age", "op": ">=", "value": 18}"#, "\(age) >= 18"),
        SegmentCase(#"{"field": "age", "op": "between", "value": [40, 70]}"#, "\(age) BETWEEN 40 AND 70"),
        SegmentCase(#"{"field": "age", "op": "in", "value": [6, 7, 8]}"#, "\(age) IN (6, 7, 8)"),
        SegmentCase(#"{"field": "age", "op": "is_empty"}"#, "c.birth_date IS NULL"),
        SegmentCase(#"{"field": "membership_years", "op": ">=", "value": 10}"#, "\(years) >= 10"),
        SegmentCase(#"{"field": "membership_years", "op": "between", "value": [3, 6]}"#, "\(years) BETWEEN 3 AND 6"),
        // Days since the last loan.
        SegmentCase(#"{"field": "days_since_last_loan", "op": ">", "value": 365}"#, "\(today) - c.last_loan_date > 365"),
        SegmentCase(#"{"field": "days_since_last_loan", "op": "<=", "value": 30}"#, "\(today) - c.last_loan_date <= 30"),
        SegmentCase(#"{"field": "days_since_last_loan", "op": "between", "value": [10, 20]}"#, "\(today) - c.last_loan_date BETWEEN 10 AND 20"),
        SegmentCase(#"{"field": "days_since_last_loan", "op": "is_empty", "value": null}"#, "c.last_loan_date IS NULL"),
        // Dates.
        SegmentCase(#"{"field": "birth_date", "op": "=", "value": "1985-06-15"}"#, "c.birth_date = DATE '1985-06-15'"),
        SegmentCase(#"{"field": "birth_date", "op": "!=", "value": "1985-06-15"}"#, "c.birth_date <> DATE '1985-06-15'"),
        SegmentCase(#"{"field": "birth_date", "op": "<", "value": "1970-01-01"}"#, "c.birth_date < DATE '1970-01-01'"),
        SegmentCase(#"{"field": "birth_date", "op": "<=", "value": "1985-06-15"}"#, "c.birth_date <= DATE '1985-06-15'"),
        SegmentCase(#"{"field": "birth_date", "op": ">", "value": "2010-01-01"}"#, "c.birth_date > DATE '2010-01-01'"),
        SegmentCase(#"{"field": "birth_date", "op": ">=", "value": "2010-01-01"}"#, "c.birth_date >= DATE '2010-01-01'"),
        SegmentCase(
            #"{"field": "birth_date", "op": "between", "value": ["1980-01-01", "1989-12-31"]}"#,
            "c.birth_date >= DATE '1980-01-01' AND c.birth_date <= DATE '1989-12-31'"),
        SegmentCase(#"{"field": "birth_date", "op": "is_empty"}"#, "c.birth_date IS NULL"),
        SegmentCase(#"{"field": "birth_date", "op": "within_last_days", "value": 3650}"#, "\(today) - c.birth_date BETWEEN 0 AND 3650"),
        SegmentCase(
            #"{"field": "birth_date", "op": "anniversary_in_days", "value": 0}"#,
            "extract(month FROM c.birth_date) = 11 AND extract(day FROM c.birth_date) = 27"),
        SegmentCase(
            #"{"field": "membership_start", "op": "anniversary_in_days", "value": 1}"#,
            "extract(month FROM c.membership_start) = 11 AND extract(day FROM c.membership_start) = 28"),
        SegmentCase(#"{"field": "membership_start", "op": ">=", "value": "2020-01-01"}"#, "c.membership_start >= DATE '2020-01-01'"),
        SegmentCase(#"{"field": "membership_end", "op": "within_next_days", "value": 30}"#, "c.membership_end - \(today) BETWEEN 0 AND 30"),
        SegmentCase(#"{"field": "membership_end", "op": "is_empty"}"#, "c.membership_end IS NULL"),
        SegmentCase(#"{"field": "last_loan_date", "op": "within_last_days", "value": 30}"#, "\(today) - c.last_loan_date BETWEEN 0 AND 30"),
        // Texts and ids.
        SegmentCase(#"{"field": "member_type", "op": "=", "value": "adult"}"#, "c.member_type = 'adult'"),
        SegmentCase(#"{"field": "member_type", "op": "!=", "value": "youth"}"#, "c.member_type <> 'youth'"),
        SegmentCase(#"{"field": "member_type", "op": "in", "value": ["nt2", "friend"]}"#, "c.member_type IN ('nt2', 'friend')"),
        SegmentCase(#"{"field": "member_type", "op": "is_empty"}"#, "c.member_type IS NULL"),
        SegmentCase(#"{"field": "membership_status", "op": "=", "value": "ended"}"#, "c.membership_status = 'ended'"),
        SegmentCase(
            #"{"field": "membership_status", "op": "in", "value": ["active", "suspended"]}"#, "c.membership_status IN ('active', 'suspended')"),
        SegmentCase(#"{"field": "municipality", "op": "=", "value": "Zandvoort"}"#, "c.municipality = 'Zandvoort'"),
        SegmentCase(#"{"field": "municipality", "op": "!=", "value": "Haarlem"}"#, "c.municipality <> 'Haarlem'"),
        SegmentCase(#"{"field": "postcode", "op": "=", "value": "2042 AB"}"#, "c.postcode = '2042 AB'"),
        SegmentCase(#"{"field": "postcode", "op": "is_empty"}"#, "c.postcode IS NULL"),
        SegmentCase(#"{"field": "favourite_branch", "op": "=", "value": "{b1}"}"#, "c.favourite_branch_id = '{b1}'"),
        SegmentCase(#"{"field": "favourite_branch", "op": "!=", "value": "{b1}"}"#, "c.favourite_branch_id <> '{b1}'"),
        SegmentCase(#"{"field": "favourite_branch", "op": "in", "value": ["{b1}", "{b2}"]}"#, "c.favourite_branch_id IN ('{b1}', '{b2}')"),
        SegmentCase(#"{"field": "favourite_branch", "op": "is_empty"}"#, "c.favourite_branch_id IS NULL"),
        // Numbers.
        SegmentCase(#"{"field": "postcode_area", "op": "between", "value": [2000, 2035]}"#, "c.postcode >= '2000' AND c.postcode < '2036'"),
        SegmentCase(#"{"field": "postcode_area", "op": "is_empty"}"#, "c.postcode IS NULL"),
        // Mosaic, from the postcode in the current delivery only.
        SegmentCase(#"{"field": "mosaic_segment", "op": "=", "value": "S1"}"#, "c.postcode IN \(mosaic("p.segment_code = 'S1'"))"),
        SegmentCase(#"{"field": "mosaic_segment", "op": "!=", "value": "S1"}"#, "c.postcode IN \(mosaic("p.segment_code <> 'S1'"))"),
        SegmentCase(
            #"{"field": "mosaic_subsegment", "op": "in", "value": ["S1B", "S3A"]}"#, "c.postcode IN \(mosaic("p.subsegment_code IN ('S1B', 'S3A')"))"),
        SegmentCase(#"{"field": "mosaic_subsegment", "op": "is_empty"}"#, "c.postcode IS NULL OR c.postcode NOT IN \(mosaic("true"))"),
        SegmentCase(#"{"field": "loans_12m", "op": "=", "value": 0}"#, "c.loans_12m = 0"),
        SegmentCase(#"{"field": "loans_12m", "op": "!=", "value": 0}"#, "c.loans_12m <> 0"),
        SegmentCase(#"{"field": "loans_12m", "op": "<", "value": 5}"#, "c.loans_12m < 5"),
        SegmentCase(#"{"field": "loans_12m", "op": "<=", "value": 5}"#, "c.loans_12m <= 5"),
        SegmentCase(#"{"field": "loans_12m", "op": ">", "value": 20}"#, "c.loans_12m > 20"),
        SegmentCase(#"{"field": "loans_12m", "op": ">=", "value": 20}"#, "c.loans_12m >= 20"),
        SegmentCase(#"{"field": "loans_total", "op": "in", "value": [0, 1, 2, 3]}"#, "c.loans_total IN (0, 1, 2, 3)"),
        SegmentCase(#"{"field": "loans_total", "op": "between", "value": [100, 500]}"#, "c.loans_total >= 100 AND c.loans_total <= 500"),
        // Flags.
        SegmentCase(#"{"field": "never_borrowed", "op": "=", "value": true}"#, "c.loans_total = 0 AND c.last_loan_date IS NULL"),
        SegmentCase(#"{"field": "never_borrowed", "op": "=", "value": false}"#, "NOT (c.loans_total = 0 AND c.last_loan_date IS NULL)"),
        SegmentCase(
            #"{"field": "complaint_open", "op": "=", "value": true}"#,
            "c.id IN (SELECT customer_id FROM complaints WHERE status IN ('new', 'in_progress'))"),
        SegmentCase(
            #"{"field": "complaint_open", "op": "=", "value": false}"#,
            "NOT EXISTS (SELECT 1 FROM complaints q WHERE q.customer_id = c.id AND q.status IN ('new', 'in_progress'))"),
        // Lists.
        SegmentCase(#"{"field": "genres", "op": "contains", "value": "thrillers"}"#, "'thrillers' = ANY(c.genres)"),
        SegmentCase(#"{"field": "genres", "op": "in", "value": ["poetry", "travel"]}"#, "'poetry' = ANY(c.genres) OR 'travel' = ANY(c.genres)"),
        SegmentCase(#"{"field": "tags", "op": "contains", "value": "vip"}"#, "'vip' = ANY(c.tags)"),
        SegmentCase(#"{"field": "tags", "op": "is_empty"}"#, "c.tags = '{}'"),
        SegmentCase(#"{"field": "roles", "op": "contains", "value": "guest"}"#, "'guest' = ANY(c.roles)"),
        // Consent: the latest statement per topic holds.
        SegmentCase(#"{"field": "consent", "op": "=", "value": "newsletter:weekly"}"#, latestConsent("'newsletter:weekly'")),
        SegmentCase(
            #"{"field": "consent", "op": "in", "value": ["newsletter:weekly", "newsletter:youth"]}"#,
            latestConsent("'newsletter:weekly', 'newsletter:youth'")),
        // Activities.
        SegmentCase(#"{"field": "activity_attended", "op": "exists"}"#, "c.id IN (SELECT customer_id FROM registrations WHERE status = 'attended')"),
        SegmentCase(
            #"{"field": "activity_registered", "op": "exists", "value": {"category": "youth", "starts_in_days": 3}}"#,
            """
            c.id IN (SELECT r.customer_id FROM registrations r JOIN activities a ON a.id = r.activity_id
                     WHERE r.status IN ('booked', 'attended', 'no_show') AND a.category = 'youth'
                       AND a.starts_at >= \(midnight(3)) AND a.starts_at < \(midnight(4)))
            """),
        SegmentCase(
            #"{"field": "activity_attended", "op": "exists", "value": {"branch": "{b1}", "within_last_days": 60}}"#,
            """
            c.id IN (SELECT r.customer_id FROM registrations r JOIN activities a ON a.id = r.activity_id
                     WHERE r.status = 'attended' AND a.branch_id = '{b1}' AND a.starts_at >= \(midnight(-60)) AND a.starts_at < \(midnight(1)))
            """),
        SegmentCase(
            #"{"field": "activity_registered", "op": "exists", "value": {"category": ["adults", "nt2"], "within_next_days": 7}}"#,
            """
            c.id IN (SELECT r.customer_id FROM registrations r JOIN activities a ON a.id = r.activity_id
                     WHERE r.status IN ('booked', 'attended', 'no_show') AND a.category IN ('adults', 'nt2')
                       AND a.starts_at >= \(midnight(0)) AND a.starts_at < \(midnight(8)))
            """),
        // Evaluation scores.
        SegmentCase(#"{"field": "evaluation_score", "op": "=", "value": 8}"#, score("e.score = 8")),
        SegmentCase(#"{"field": "evaluation_score", "op": "!=", "value": 10}"#, score("e.score <> 10")),
        SegmentCase(#"{"field": "evaluation_score", "op": "<", "value": 5}"#, score("e.score < 5")),
        SegmentCase(#"{"field": "evaluation_score", "op": "<=", "value": 6}"#, score("e.score <= 6")),
        SegmentCase(#"{"field": "evaluation_score", "op": ">", "value": 9}"#, score("e.score > 9")),
        SegmentCase(#"{"field": "evaluation_score", "op": ">=", "value": 9}"#, score("e.score >= 9")),
        SegmentCase(#"{"field": "evaluation_score", "op": "between", "value": [3, 6]}"#, score("e.score >= 3 AND e.score <= 6")),
        SegmentCase(#"{"field": "evaluation_score", "op": "in", "value": [1, 2, 10]}"#, score("e.score IN (1, 2, 10)")),
        // Households.
        SegmentCase(
            #"{"field": "household_youth_age", "op": "between", "value": [0, 12]}"#,
            """
            EXISTS (SELECT 1 FROM customers h WHERE h.id <> c.id AND h.merged_into IS NULL AND h.erased_at IS NULL
                    AND date_part('year', age(\(today), h.birth_date)) BETWEEN 0 AND 12
                    AND (h.household_id = c.household_id OR h.id IN (SELECT child_id FROM household_links WHERE parent_id = c.id)))
            """),
        // Campaign events.
        SegmentCase(
            #"{"field": "campaign_received", "op": "exists", "value": {}}"#, "c.id IN (SELECT customer_id FROM campaign_events WHERE kind = 'sent')"),
        SegmentCase(
            #"{"field": "campaign_opened", "op": "exists", "value": {"campaign": "{c1}"}}"#,
            "c.id IN (SELECT customer_id FROM campaign_events WHERE kind = 'opened' AND campaign_id = '{c1}')"),
        SegmentCase(
            #"{"field": "campaign_clicked", "op": "exists", "value": {"within_last_days": 60}}"#,
            "c.id IN (SELECT customer_id FROM campaign_events WHERE kind = 'clicked' AND at >= \(midnight(-60)))"),
        // Nodes: all, any, not (not is the exact complement, also where a field has no value).
        SegmentCase(#"{"not": {"field": "member_type", "op": "=", "value": "youth"}}"#, "c.member_type IS DISTINCT FROM 'youth'"),
        SegmentCase(
            #"{"not": {"field": "last_loan_date", "op": "within_last_days", "value": 365}}"#,
            "c.last_loan_date IS NULL OR c.last_loan_date < \(today) - 365 OR c.last_loan_date > \(today)"),
        SegmentCase(
            #"{"any": [{"field": "age", "op": "<", "value": 13}, {"field": "tags", "op": "contains", "value": "dyslexie"}]}"#,
            "\(age) < 13 OR 'dyslexie' = ANY(c.tags)"),
        SegmentCase(
            #"""
            {"all": [
                {"field": "age", "op": ">=", "value": 18},
                {"any": [{"field": "favourite_branch", "op": "=", "value": "{b1}"}, {"field": "favourite_branch", "op": "=", "value": "{b2}"}]},
                {"field": "membership_status", "op": "=", "value": "active"},
                {"not": {"field": "last_loan_date", "op": "within_last_days", "value": 30}},
                {"field": "consent", "op": "=", "value": "newsletter:weekly"},
                {"not": {"field": "activity_attended", "op": "exists", "value": {"within_last_days": 180}}}
            ]}
            """#,
            """
            \(age) >= 18 AND c.favourite_branch_id IN ('{b1}', '{b2}') AND c.membership_status = 'active'
            AND (c.last_loan_date IS NULL OR c.last_loan_date < \(today) - 30 OR c.last_loan_date > \(today))
            AND \(latestConsent("'newsletter:weekly'"))
            AND c.id NOT IN (SELECT r.customer_id FROM registrations r JOIN activities a ON a.id = r.activity_id
                             WHERE r.status = 'attended' AND a.starts_at >= \(midnight(-180)) AND a.starts_at < \(midnight(1)))
            """),
    ]
}

// Serialized: the comparisons are database-heavy, and in parallel they starved the other suites sharing the cluster.
@Suite(.serialized) struct SegmentCompilerTests {
    func fill(_ text: String, _ library: SegmentLibrary) -> String {
        text.replacingOccurrences(of: "{b1}", with: library.branches[0].uuidString.lowercased())
            .replacingOccurrences(of: "{b2}", with: library.branches[1].uuidString.lowercased())
            .replacingOccurrences(of: "{c1}", with: library.campaigns[0].uuidString.lowercased())
            .replacingOccurrences(of: "{today}", with: SegmentCase.today)
    }

    func rule(_ json: String) throws -> SegmentRule {
        try JSONDecoder().decode(SegmentRule.self, from: Data(json.utf8))
    }

    @Test(arguments: SegmentCase.all)
    func compiledRuleSelectsWhatHandWrittenSQLSelects(_ testCase: SegmentCase) async throws {
        let library = try await SegmentLibrary.shared.value
        let compiled = try SegmentCompiler(today: SegmentLibrary.today).compile(try rule(fill(testCase.rule, library)))
        let expected = try await library.ids(where: fill(testCase.sql, library))
        let selected = try await library.ids(compiled)
        let total = try await library.total
        // A case that selects nobody or everybody could not tell a right compiler from a wrong one.
        #expect(!expected.isEmpty, "the hand-written SQL selects nobody")
        #expect(expected.count < total, "the hand-written SQL selects everybody")
        #expect(selected == expected, "compiled \(selected.count), by hand \(expected.count): \(compiled.predicate)")
        #expect(try await library.env.db.withTenant(library.tenant) { tx in try await Segments.count(compiled, in: tx) } == expected.count)
    }

    /// Every field of the catalogue, and every operator of every type of field, has a case above.
    @Test func everyFieldAndEveryOperatorOfEachTypeIsCompared() throws {
        let missing = try Self.uncovered(by: SegmentCase.all.map(\.rule), subject: .b2c)
        #expect(missing.fields == [], "fields without a case")
        #expect(missing.operators == [], "operators without a case")
    }

    /// The catalogue's fields, and the operators of each type of field, that none of `rules` uses.
    static func uncovered(by rules: [String], subject: Segment.Subject) throws -> (fields: [String], operators: [String]) {
        let catalogue = SegmentField.catalogue(for: subject)
        var fields: Set<String> = []
        var typedOperators: Set<String> = []
        func visit(_ rule: SegmentRule) {
            switch rule {
            case .all(let rules), .any(let rules): rules.forEach(visit)
            case .not(let inner): visit(inner)
            case .condition(let condition):
                fields.insert(condition.field)
                if let field = catalogue[condition.field] { typedOperators.insert("\(field.typeName) \(condition.op)") }
            }
        }
        for json in rules { visit(try JSONDecoder().decode(SegmentRule.self, from: Data(json.utf8))) }
        let all = SegmentField.fields(for: subject)
        let every = Set(all.flatMap { field in field.operators.map { "\(field.typeName) \($0.rawValue)" } })
        return (Set(all.map(\.name)).subtracting(fields).sorted(), every.subtracting(typedOperators).sorted())
    }

    /// No value of a rule reaches the SQL text: strings never appear in it, and other numbers give the same text.
    @Test(arguments: SegmentCase.all)
    func valuesTravelOnlyAsBindParameters(_ testCase: SegmentCase) throws {
        let branches = [UUID(), UUID()]
        let json = testCase.rule.replacingOccurrences(of: "{b1}", with: branches[0].uuidString).replacingOccurrences(
            of: "{b2}", with: branches[1].uuidString
        )
        .replacingOccurrences(of: "{c1}", with: UUID().uuidString)
        let original = try rule(json)
        let compiler = SegmentCompiler(today: SegmentLibrary.today)
        let compiled = try compiler.compile(original)
        for text in Self.strings(in: original) {
            #expect(!compiled.predicate.description.lowercased().contains(text.lowercased()), "\(text) is in \(compiled.predicate)")
        }
        let shifted = try compiler.compile(Self.shiftingNumbers(original))
        #expect(shifted.predicate.description == compiled.predicate.description)
        #expect(compiled.predicate.query.binds.count > 0 || !Self.hasValue(original))
    }

    static func strings(in rule: SegmentRule) -> [String] {
        func values(_ value: SegmentValue?) -> [String] {
            switch value {
            case .string(let text)?: [text]
            case .array(let items)?: items.flatMap { values($0) }
            case .object(let members)?: members.values.flatMap { values($0) }
            default: []
            }
        }
        switch rule {
        case .all(let rules), .any(let rules): return rules.flatMap(strings)
        case .not(let inner): return strings(in: inner)
        case .condition(let condition): return values(condition.value)
        }
    }

    static func hasValue(_ rule: SegmentRule) -> Bool {
        switch rule {
        case .all(let rules), .any(let rules): return rules.contains(where: hasValue)
        case .not(let inner): return hasValue(inner)
        case .condition(let condition):
            if case .object(let members)? = condition.value { return !members.isEmpty }
            // A flag's true or false chooses the SQL; it carries no value to bind.
            if case .bool? = condition.value { return false }
            return condition.value != nil && condition.value != .null
        }
    }

    static func shiftingNumbers(_ rule: SegmentRule) -> SegmentRule {
        func shift(_ value: SegmentValue?) -> SegmentValue? {
            switch value {
            case .number(let number)?: .number(number + 1)
            case .array(let items)?: .array(items.map { shift($0) ?? .null })
            case .object(let members)?: .object(members.mapValues { shift($0) ?? .null })
            default: value
            }
        }
        switch rule {
        case .all(let rules): return .all(rules.map(shiftingNumbers))
        case .any(let rules): return .any(rules.map(shiftingNumbers))
        case .not(let inner): return .not(shiftingNumbers(inner))
        case .condition(var condition):
            condition.value = shift(condition.value)
            return .condition(condition)
        }
    }

    // MARK: Bad trees

    @Test func unknownFieldsOperatorsAndValuesNameTheirNode() throws {
        let bad = try rule(
            """
            {"all": [
                {"field": "age", "op": ">=", "value": 18},
                {"field": "shoe_size", "op": "=", "value": 42},
                {"any": [{"field": "member_type", "op": "=", "value": "pirate"}, {"field": "age", "op": "contains", "value": 3}]},
                {"field": "age", "op": ">=", "value": "eighteen"},
                {"not": {"field": "activity_attended", "op": "exists", "value": {"category": "youth", "colour": "red"}}},
                {"field": "birth_date", "op": "between", "value": ["2000-01-01", "yesterday"]},
                {"field": "age", "op": "is_empty", "value": 3}
            ]}
            """)
        do {
            _ = try SegmentCompiler(today: SegmentLibrary.today).compile(bad)
            Issue.record("a bad tree compiled")
        } catch SegmentError.invalid(let errors) {
            #expect(
                errors.map(\.field) == [
                    "rule.all[1].field", "rule.all[2].any[0].value", "rule.all[2].any[1].op", "rule.all[3].value",
                    "rule.all[4].not.value.colour", "rule.all[5].value[1]", "rule.all[6].value",
                ])
            // The message never echoes the value (it may be personal data).
            #expect(!errors.contains { $0.message.contains("pirate") || $0.message.contains("eighteen") })
        }
    }

    /// "In branch A or branch B" is asked as one `= ANY(...)`, which an index answers in one scan; the big case
    /// above checks that it still selects what the hand-written SQL selects.
    @Test func anyOfEqualitiesOnOneFieldIsAskedAsOneInAndErrorsStillNameTheirNode() throws {
        let compiler = SegmentCompiler(today: SegmentLibrary.today)
        let (a, b) = (UUID().uuidString, UUID().uuidString)
        let folded = try compiler.compile(
            try rule(
                """
                {"any": [{"field": "favourite_branch", "op": "=", "value": "\(a)"}, {"field": "favourite_branch", "op": "=", "value": "\(b)"}]}
                """))
        #expect(folded.predicate.description.contains("c.favourite_branch_id = ANY($1)"))
        #expect(!folded.predicate.description.contains(" OR "))
        #expect(folded.predicate.query.binds.count == 1)
        // Different fields or operators stay an OR.
        let mixed = try compiler.compile(
            try rule(
                """
                {"any": [{"field": "favourite_branch", "op": "=", "value": "\(a)"}, {"field": "membership_status", "op": "=", "value": "active"}]}
                """))
        #expect(mixed.predicate.description.contains(" OR "))
        do {
            _ = try compiler.compile(
                try rule(
                    """
                    {"any": [{"field": "favourite_branch", "op": "=", "value": "\(a)"}, {"field": "favourite_branch", "op": "=", "value": "Centrale"}]}
                    """))
            Issue.record("a branch that is not an id compiled")
        } catch SegmentError.invalid(let errors) {
            #expect(errors.map(\.field) == ["rule.any[1].value"])
        }
    }

    @Test func malformedNodesFailToDecodeAtTheirPath() throws {
        struct Body: Decodable { let rule: SegmentRule }
        for (json, path) in [
            (#"{"rule": {"all": [{"field": "age", "op": ">=", "value": 1}, {"every": []}]}}"#, "rule/all/1"),
            (#"{"rule": {"any": [{"not": [1]}]}}"#, "rule/any/0/not"),
            (#"{"rule": {"all": [{"field": "age", "op": ">=", "value": 1, "extra": 2}]}}"#, "rule/all/0/extra"),
            (#"{"rule": {"field": "age", "value": 1}}"#, "rule/op"),
        ] {
            do {
                _ = try JSONDecoder().decode(Body.self, from: Data(json.utf8))
                Issue.record("\(json) decoded")
            } catch let error as DecodingError {
                let codingPath: [any CodingKey] =
                    switch error {
                    case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
                        context.codingPath
                    @unknown default: []
                    }
                var parts = codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
                if case .keyNotFound(let key, _) = error { parts.append(key.stringValue) }
                #expect(parts.joined(separator: "/") == path, "\(json)")
            }
        }
    }

    @Test func treesTooLargeOrEmptyAreRefused() throws {
        var deep = SegmentRule.condition(SegmentCondition(field: "age", op: ">=", value: 18))
        for _ in 0..<SegmentCompiler.maximumDepth { deep = .not(deep) }
        #expect(throws: SegmentError.self) { try SegmentCompiler(today: SegmentLibrary.today).compile(deep) }
        let wide = SegmentRule.any(
            Array(repeating: .condition(SegmentCondition(field: "age", op: "=", value: 1)), count: SegmentCompiler.maximumConditions + 1))
        #expect(throws: SegmentError.invalid([FieldError(field: "rule", message: "Use at most \(SegmentCompiler.maximumConditions) conditions.")])) {
            try SegmentCompiler(today: SegmentLibrary.today).compile(wide)
        }
        #expect(throws: SegmentError.invalid([FieldError(field: "rule.all", message: "Give at least one rule.")])) {
            try SegmentCompiler(today: SegmentLibrary.today).compile(.all([]))
        }
    }

    /// Relative dates follow the injected day, not the database's clock.
    @Test func relativeDatesComeFromTheInjectedDay() async throws {
        let library = try await SegmentLibrary.shared.value
        let birthday = try rule(#"{"field": "birth_date", "op": "anniversary_in_days", "value": 0}"#)
        let onTheDay = try await library.ids(SegmentCompiler(today: SegmentLibrary.today).compile(birthday))
        let dayLater = try await library.ids(SegmentCompiler(today: SegmentLibrary.today.nextDay).compile(birthday))
        #expect(!onTheDay.isEmpty && !dayLater.isEmpty)
        #expect(onTheDay.isDisjoint(with: dayLater))
        // 29 February is celebrated on 28 February in a common year.
        let feb28 = CalendarDate(year: 2027, month: 2, day: 28)!
        let compiled = try SegmentCompiler(today: feb28).compile(birthday)
        #expect(compiled.predicate.query.binds.count == 1)
        let leap = try await library.ids(where: "extract(month FROM c.birth_date) = 2 AND extract(day FROM c.birth_date) IN (28, 29)")
        #expect(try await library.ids(compiled) == leap)
    }

    @Test func daysAreCountedFromPostgreSQLsDateEpoch() {
        #expect(SegmentCompiler.daysSince2000(CalendarDate(year: 2000, month: 1, day: 1)!) == 0)
        #expect(SegmentCompiler.daysSince2000(CalendarDate(year: 1999, month: 12, day: 31)!) == -1)
        #expect(SegmentCompiler.daysSince2000(CalendarDate(year: 2024, month: 2, day: 29)!) == 8825)
        #expect(SegmentCompiler.daysSince2000(CalendarDate(year: 2026, month: 11, day: 27)!) == 9827)
        #expect(SegmentCompiler.daysSince2000(CalendarDate(year: 1850, month: 3, day: 1)!) == -54727)
    }

    @Test func dayArithmeticMatchesTheCalendar() {
        let start = CalendarDate(year: 1900, month: 1, day: 1)!
        var day = start
        var wrong: [CalendarDate] = []
        for offset in 0..<(200 * 366) {
            if start.daysSince1970 + offset != day.daysSince1970 || CalendarDate(dayNumber: day.daysSince1970) != day
                || day.adding(days: 1) != day.nextDay
            {
                wrong.append(day)
            }
            day = day.nextDay
        }
        #expect(wrong.isEmpty)
        #expect(CalendarDate(year: 2028, month: 2, day: 29)!.minus(years: 1) == CalendarDate(year: 2027, month: 2, day: 28)!)
        #expect(CalendarDate(year: 2026, month: 3, day: 1)!.adding(days: -1) == CalendarDate(year: 2026, month: 2, day: 28)!)
    }
}

extension CalendarDate {
    var nextDay: CalendarDate {
        if day < CalendarDate.days(inMonth: month, year: year) { return CalendarDate(year: year, month: month, day: day + 1)! }
        if month < 12 { return CalendarDate(year: year, month: month + 1, day: 1)! }
        return CalendarDate(year: year + 1, month: 1, day: 1)!
    }

    init(dayNumber: Int) {
        let (year, month, day) = CalendarDate.civil(daysSince1970: dayNumber)
        self = CalendarDate(year: year, month: month, day: day)!
    }
}
