/// The operators a condition may use; which ones a field accepts depends on its type (see `SegmentField`).
public enum SegmentOperator: String, Sendable, CaseIterable, Codable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    /// Both ends included: `[low, high]`.
    case between
    /// One of a list of values; on a list field (tags, genres): shares at least one.
    case `in`
    /// A list field (tags, genres, roles) holds the value.
    case contains
    /// The field has no value (or an empty list). Takes no value.
    case isEmpty = "is_empty"
    /// A date from `today - N` days up to today.
    case withinLastDays = "within_last_days"
    /// A date from today up to `today + N` days.
    case withinNextDays = "within_next_days"
    /// The date's day and month come round in exactly N days (0: today), e.g. a birthday. A 29 February is
    /// celebrated on 28 February in other years.
    case anniversaryInDays = "anniversary_in_days"
    /// A related record exists (a registration, a campaign event), narrowed by the filters in the value object.
    case exists
}
