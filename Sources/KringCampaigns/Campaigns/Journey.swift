import Foundation
import KringCore

/// An automated campaign: a trigger finds occurrences (a new membership, a birthday, an activity three days
/// ahead ...), and each occurrence gets the journey's steps, each after its wait, once per customer.
public struct Journey: Sendable, Codable, Equatable {
    public enum Trigger: String, Sendable, Codable, CaseIterable {
        /// Membership started (in the last 7 days, and not before the journey was activated).
        case welcome
        /// Birthday today; give youth and adults their own journey with an `audience`.
        case birthday
        /// An activity the customer booked starts in `days` days (default 3).
        case activityReminder = "activity_reminder"
        /// The customer attended an activity that ended `days` days ago (default 1): the "third half" mail.
        case thirdHalf = "third_half"
        /// The customer booked but did not come; `days` after the activity (default 1).
        case noShow = "no_show"
        /// Member for exactly `years` years today (default 5).
        case loyalty
        /// Membership active but no loan for `months` months (default 12: leavers stop borrowing long before leaving).
        case winback
        /// Membership ends in `days` days (default 30).
        case membershipEnding = "membership_ending"

        var defaultDays: Int {
            switch self {
            case .activityReminder: 3
            case .thirdHalf, .noShow: 1
            case .membershipEnding: 30
            default: 0
            }
        }
    }

    /// One mail of the journey: sent `waitDays` after the occurrence (or after the previous step), if the customer
    /// then matches `condition` (a segment rule); otherwise the step is skipped for them.
    public struct Step: Sendable, Codable, Equatable {
        public var waitDays: Int
        public var templateID: UUID
        public var subject: String?
        public var condition: SegmentRule?

        enum CodingKeys: String, CodingKey {
            case waitDays = "wait_days"
            case templateID = "template_id"
            case subject, condition
        }

        public init(waitDays: Int = 0, templateID: UUID, subject: String? = nil, condition: SegmentRule? = nil) {
            self.waitDays = waitDays
            self.templateID = templateID
            self.subject = subject
            self.condition = condition
        }
    }

    public var trigger: Trigger
    public var days: Int?
    public var months: Int?
    public var years: Int?
    /// Who the journey is for (e.g. youth members); everyone the trigger finds when nil.
    public var audience: SegmentRule?
    public var steps: [Step]

    public init(trigger: Trigger, days: Int? = nil, months: Int? = nil, years: Int? = nil, audience: SegmentRule? = nil, steps: [Step]) {
        self.trigger = trigger
        self.days = days
        self.months = months
        self.years = years
        self.audience = audience
        self.steps = steps
    }

    var effectiveDays: Int { days ?? trigger.defaultDays }
    var effectiveMonths: Int { months ?? 12 }
    var effectiveYears: Int { years ?? 5 }

    func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if steps.isEmpty || steps.count > 5 { errors.append(FieldError(field: "journey.steps", message: "Give 1 to 5 steps.")) }
        for (index, step) in steps.enumerated() where step.waitDays < 0 || step.waitDays > 365 {
            errors.append(FieldError(field: "journey.steps[\(index)].wait_days", message: "Wait 0 to 365 days."))
        }
        if let days, days < 0 || days > 365 { errors.append(FieldError(field: "journey.days", message: "Use 0 to 365 days.")) }
        if let months, months < 1 || months > 120 { errors.append(FieldError(field: "journey.months", message: "Use 1 to 120 months.")) }
        if let years, years < 1 || years > 100 { errors.append(FieldError(field: "journey.years", message: "Use 1 to 100 years.")) }
        let compiler = SegmentCompiler(today: CalendarDate(year: 2000, month: 1, day: 1)!)
        if let audience {
            do { _ = try compiler.compile(audience, path: "journey.audience") } catch SegmentError.invalid(let ruleErrors) {
                errors += ruleErrors
            } catch {}
        }
        for (index, step) in steps.enumerated() {
            guard let condition = step.condition else { continue }
            do { _ = try compiler.compile(condition, path: "journey.steps[\(index)].condition") } catch SegmentError.invalid(let ruleErrors) {
                errors += ruleErrors
            } catch {}
        }
        return errors
    }
}
