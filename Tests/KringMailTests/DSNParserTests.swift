import Foundation
import KringMail
import Testing

@Suite struct DSNParserTests {
    static func bytes(_ text: String, crlf: Bool) -> [UInt8] {
        Array((crlf ? text.replacingOccurrences(of: "\n", with: "\r\n") : text).utf8)
    }

    @Test(arguments: [false, true])
    func postfixHardBounce(crlf: Bool) throws {
        let report = try DSNParser.parse(Self.bytes(DSNSamples.postfixHardBounce, crlf: crlf))
        #expect(report.type == .deliveryStatus)
        #expect(report.reporter == "dns; mx.bibliotheekzk.example")
        #expect(report.originalMessageID == "3f9c2a1b0d4e5f60718293a4b5c6d7e8@bibliotheekzk.example")
        let recipient = try #require(report.recipients.first)
        #expect(report.recipients.count == 1)
        #expect(recipient.address == "piet.bakker@example.nl")
        #expect(recipient.originalRecipient == "piet.bakker@example.nl")
        #expect(recipient.finalRecipient == "piet.bakker@example.nl")
        #expect(recipient.action == "failed")
        #expect(recipient.status == "5.1.1")
        #expect(recipient.diagnosticCode?.hasPrefix("smtp; 550 5.1.1 <piet.bakker@example.nl>: Recipient address") == true)
        #expect(recipient.diagnosticCode?.contains("rejected: User unknown") == true, "folded field is unfolded")
        #expect(recipient.kind == .hardBounce)
        #expect(recipient.kind.suppresses)
    }

    @Test func exchangeHardBounce() throws {
        let report = try DSNParser.parse(Self.bytes(DSNSamples.exchangeHardBounce, crlf: true))
        let recipient = try #require(report.recipients.first)
        #expect(recipient.address == "k.dejong@gemeente.example")
        #expect(recipient.originalRecipient == nil)
        #expect(recipient.status == "5.1.10")
        #expect(recipient.kind == .hardBounce)
        #expect(recipient.diagnosticCode == "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")
        #expect(report.originalMessageID == "aa11bb22cc33dd44ee55ff6677889900@bibliotheekzk.example")
    }

    @Test func delaysAndTemporaryFailuresAreSoft() throws {
        let report = try DSNParser.parse(Self.bytes(DSNSamples.postfixDelayed, crlf: false))
        #expect(report.recipients.map(\.address) == ["vol@example.nl", "tijdelijk@example.nl"])
        #expect(report.recipients.map(\.kind) == [.delayed, .softBounce])
        #expect(report.recipients.map(\.status) == ["4.2.2", "4.4.7"])
        #expect(!report.recipients.contains { $0.kind.suppresses })
    }

    @Test func arfComplaint() throws {
        let report = try DSNParser.parse(Self.bytes(DSNSamples.arfComplaint, crlf: true))
        #expect(report.type == .feedbackReport)
        #expect(report.feedbackType == "abuse")
        #expect(report.reporter == "SomeGenerator/1.0")
        #expect(report.recipients.map(\.address) == ["marieke@example.nl"])
        #expect(report.recipients.map(\.kind) == [.complaint])
        #expect(report.originalMessageID == "bb22cc33dd44ee55ff66778899001122@bibliotheekzk.example")
    }

    @Test func arfWithRedactedRecipientUsesTheReturnedHeaders() throws {
        let report = try DSNParser.parse(Self.bytes(DSNSamples.arfRedacted, crlf: false))
        #expect(report.recipients.map(\.address) == ["jeroen@example.nl"])
        #expect(report.recipients.first?.kind == .complaint)
    }

    @Test func aNotSpamReportSuppressesNobody() throws {
        let text = DSNSamples.arfComplaint.replacingOccurrences(of: "Feedback-Type: abuse", with: "Feedback-Type: not-spam")
        let report = try DSNParser.parse(Self.bytes(text, crlf: false))
        #expect(report.feedbackType == "not-spam")
        #expect(report.recipients.isEmpty)
    }

    @Test func anOrdinaryMessageIsNotAReport() {
        #expect(throws: DSNParser.Failure.notAReport) { try DSNParser.parse(Self.bytes(DSNSamples.notAReport, crlf: false)) }
        #expect(throws: DSNParser.Failure.notAReport) { try DSNParser.parse([UInt8]()) }
        let noRecipients = DSNSamples.postfixDelayed
            .replacingOccurrences(of: "Final-Recipient: rfc822; vol@example.nl", with: "X-Nothing: 1")
            .replacingOccurrences(of: "Final-Recipient: rfc822; tijdelijk@example.nl", with: "X-Nothing: 2")
        #expect(throws: DSNParser.Failure.noRecipients) { try DSNParser.parse(Self.bytes(noRecipients, crlf: false)) }
    }

    @Test func withoutAStatusTheDiagnosticDecidesAndAGuessIsSoft() {
        #expect(DSNParser.kind(action: "failed", status: nil, diagnostic: "smtp; 550 no such user") == .hardBounce)
        #expect(DSNParser.kind(action: "failed", status: nil, diagnostic: "smtp; 421 try later") == .softBounce)
        #expect(DSNParser.kind(action: "failed", status: nil, diagnostic: "X-Postfix; something") == .softBounce)
        #expect(DSNParser.kind(action: "delivered", status: "2.0.0", diagnostic: nil) == .delivered)
    }
}
