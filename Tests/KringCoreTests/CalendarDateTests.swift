import Foundation
import KringCore
import Testing

@Suite struct CalendarDateTests {
    /// Day arithmetic agrees with Foundation's Gregorian calendar over leap years and century rules.
    @Test func addingDaysAgreesWithTheGregorianCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let start = try #require(calendar.date(from: DateComponents(year: 1899, month: 12, day: 25, hour: 12)))
        let origin = CalendarDate(start, timeZone: .gmt)
        for offset in stride(from: 0, through: 80_000, by: 7) {
            let expected = CalendarDate(try #require(calendar.date(byAdding: .day, value: offset, to: start)), timeZone: .gmt)
            #expect(origin.adding(days: offset) == expected, "\(origin) + \(offset)")
            #expect(expected.adding(days: -offset) == origin, "\(expected) - \(offset)")
        }
        #expect(CalendarDate("2024-03-01")?.adding(days: -1) == CalendarDate("2024-02-29"))
        #expect(CalendarDate("2100-03-01")?.adding(days: -1) == CalendarDate("2100-02-28"))
        #expect(CalendarDate("2026-12-31")?.adding(days: 1) == CalendarDate("2027-01-01"))
    }
}
