import Foundation
import KringMail
import Testing

/// A seeded generator, so random inputs and boundaries repeat from run to run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct MIMETests {
    static let now = Date(timeIntervalSince1970: 1_795_780_800)  // Fri 27 Nov 2026 12:00:00 UTC

    static func message(
        subject: String = "Nieuws van de bibliotheek", text: String = "Hallo Anna,\n\nTot ziens!\n",
        html: String? = "<p>Hallo Anna,</p>"
    ) throws -> MailMessage {
        try MailMessage(
            from: MailAddress("nieuws@bibliotheekzk.example", name: "Bibliotheek Zuid-Kennemerland"),
            replyTo: MailAddress("info@bibliotheekzk.example"),
            to: MailAddress("anna@example.nl", name: "Anna de Vries"),
            subject: subject, text: text, html: html,
            extraHeaders: [("X-Kring-Campaign", "c-42")],
            unsubscribeURL: URL(string: "https://kring.example/s/u/abc123"))
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
    }

    // MARK: Quoted-printable

    @Test(arguments: [
        "plain ascii",
        "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e \u{2014} \u{201c}quotes\u{201d} \u{1F4DA}",
        "a=b and ==3D and =\n=",
        "trailing spaces   \nand tabs\t\t\nend ",
        String(repeating: "x", count: 300),
        String(repeating: "\u{e9}", count: 100) + "\n" + String(repeating: "a ", count: 80),
        ".\n..\n.leading dot\nFrom the start\n",
        "",
        "\n\n",
        "crlf\r\nlines\rmixed\n",
    ])
    func quotedPrintableRoundTrips(_ text: String) {
        let encoded = QuotedPrintable.encode(text)
        let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        #expect(String(decoding: QuotedPrintable.decode(Array(encoded.utf8)), as: UTF8.self) == expected)
        for line in encoded.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76, "line too long: \(line)")
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "trailing white space: \(line)")
            #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 }, "not 7-bit: \(line)")
        }
    }

    /// One-click unsubscribe needs https; plain http only on the loopback address of a developer's local run.
    @Test(arguments: [
        ("https://kring.example/s/bzk/u/t", true), ("http://127.0.0.1:8080/s/bzk/u/t", true), ("http://localhost:8080/s/bzk/u/t", true),
        ("http://[::1]:8080/s/bzk/u/t", true), ("http://kring.example/s/bzk/u/t", false), ("http://127.0.0.1.evil.example/u", false),
        ("http://127.evil.example/u", false), ("http://10.0.0.1/u", false), ("ftp://127.0.0.1/u", false),
    ])
    func unsubscribeLinksMustBeHTTPSOrLoopback(url: String, accepted: Bool) throws {
        #expect(MailMessage.acceptsUnsubscribeURL(try #require(URL(string: url))) == accepted)
    }

    @Test func quotedPrintableRoundTripsRandomText() {
        var generator = SplitMix64(seed: 7)
        let alphabet = Array("ab =.\t\u{e9}\u{20ac}\u{1F600}\nxyz0123456789")
        for _ in 0..<200 {
            let text = String((0..<Int.random(in: 0...400, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let encoded = QuotedPrintable.encode(text)
            #expect(String(decoding: QuotedPrintable.decode(Array(encoded.utf8)), as: UTF8.self) == text)
            #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        }
    }

    @Test func quotedPrintableEscapesAsTheRFCSays() {
        #expect(QuotedPrintable.encode("a=b") == "a=3Db")
        #expect(QuotedPrintable.encode("end ") == "end=20")
        #expect(QuotedPrintable.encode("tab\t") == "tab=09")
        #expect(QuotedPrintable.encode("\u{e9}") == "=C3=A9")
        #expect(QuotedPrintable.encode("mid space") == "mid space")
        // 76 characters fit on one line; the 77th makes a soft break after 75.
        #expect(QuotedPrintable.encode(String(repeating: "a", count: 76)) == String(repeating: "a", count: 76))
        #expect(QuotedPrintable.encode(String(repeating: "a", count: 77)) == String(repeating: "a", count: 75) + "=\r\naa")
        // An escape is never split by a soft break.
        let encoded = QuotedPrintable.encode(String(repeating: "a", count: 74) + "\u{e9}")
        #expect(encoded == String(repeating: "a", count: 74) + "=\r\n=C3=A9")
    }

    // MARK: Headers

    @Test(arguments: [
        "Nieuws van de bibliotheek",
        "Voorleesochtend in de Caf\u{e9}: kom je ook? \u{1F4DA}",
        "\u{c9}\u{e9}n lange onderwerpregel met heel veel bijzondere tekens \u{e0}\u{e1}\u{e2}\u{e3}\u{e4}\u{e5} en nog meer \u{2014} tot ver voorbij de achtenzeventig tekens \u{20ac}\u{20ac}\u{20ac}",
        "Looks like =?UTF-8?Q?an_encoded_word?= but is not",
        "A long plain subject line that goes on and on well beyond the seventy-eight characters a header line should keep to",
    ])
    func subjectIsEncodedAndFoldedAndDecodesBack(_ subject: String) throws {
        let bytes = try MIMEWriter(now: { Self.now }).write(Self.message(subject: subject))
        let entity = MIMEEntity(parsing: bytes)
        let header = try #require(entity.header("Subject"))
        #expect(EncodedWords.decode(header) == subject)
        let text = String(decoding: bytes, as: UTF8.self)
        let head = text[..<text.range(of: "\r\n\r\n")!.lowerBound]
        for line in head.components(separatedBy: "\r\n") {
            #expect(line.utf8.count < 78, "header line too long: \(line)")
            #expect(line.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII in header: \(line)")
        }
        if subject.unicodeScalars.contains(where: { !$0.isASCII }) { #expect(header.contains("=?UTF-8?Q?")) }
    }

    @Test func displayNamesAreEncodedOrQuoted() throws {
        let message = try MailMessage(
            from: MailAddress("nieuws@bibliotheek.example", name: "Bibliotheek Gooi- en Vechtstreek \u{e9}\u{e9}n"),
            to: MailAddress("jan@example.nl", name: "Jansen, Jan \"JJ\""), subject: "Hoi", text: "x")
        let entity = MIMEEntity(parsing: try MIMEWriter().write(message))
        let from = try #require(entity.header("From"))
        #expect(from.contains("=?UTF-8?Q?"))
        #expect(from.hasSuffix("<nieuws@bibliotheek.example>"))
        #expect(EncodedWords.decode(from) == "Bibliotheek Gooi- en Vechtstreek \u{e9}\u{e9}n <nieuws@bibliotheek.example>")
        #expect(entity.header("To") == "\"Jansen, Jan \\\"JJ\\\"\" <jan@example.nl>")
    }

    @Test func headerInjectionIsRefused() throws {
        let from = try MailAddress("nieuws@bibliotheek.example")
        let to = try MailAddress("anna@example.nl")
        #expect(throws: MailError.invalidHeader(name: "Subject")) {
            try MailMessage(from: from, to: to, subject: "Hallo\r\nBcc: everyone@example.org", text: "x")
        }
        #expect(throws: MailError.invalidHeader(name: "Subject")) {
            try MailMessage(from: from, to: to, subject: "Hallo\nBcc: everyone@example.org", text: "x")
        }
        #expect(throws: MailError.self) { try MailAddress("anna@example.nl\r\nBcc: x@example.org") }
        #expect(throws: MailError.self) { try MailAddress("anna@example.nl\n") }
        #expect(throws: MailError.self) { try MailAddress("anna@example.nl", name: "Anna\r\nBcc: x@example.org") }
        // International addresses are allowed (they need SMTPUTF8); controls and line separators never.
        #expect(try MailAddress("ann\u{e9}@example.nl").isInternational)
        #expect(try !MailAddress("anna@example.nl").isInternational)
        #expect(throws: MailError.self) { try MailAddress("ann\u{85}@example.nl") }
        #expect(throws: MailError.self) { try MailAddress("anna\u{2028}@example.nl") }
        #expect(throws: MailError.self) { try MailAddress("anna @example.nl") }
        #expect(throws: MailError.self) { try MailAddress("an\u{200B}na@example.nl") }
        #expect(throws: MailError.self) { try MailAddress("anna\u{202E}@example.nl") }
        // A Message-ID needs an ASCII domain; an international sender domain gets a reserved one.
        #expect(try MailAddress("nieuws@bibliotheek.example").messageIDDomain == "bibliotheek.example")
        #expect(try MailAddress("nieuws@bibliotheek-zo\u{eb}.example").messageIDDomain == "kring.invalid")
        let international = try MailMessage(
            from: MailAddress("nieuws@bibliotheek-zo\u{eb}.example"), to: MailAddress("anna@example.nl"), subject: "Hoi", text: "x")
        #expect(international.messageID.hasSuffix("@kring.invalid"))
        #expect(international.needsSMTPUTF8)
        #expect(throws: MailError.invalidHeader(name: "X-Note")) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", extraHeaders: [("X-Note", "a\r\nBcc: x@example.org")])
        }
        #expect(throws: MailError.invalidHeader(name: "Bcc")) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", extraHeaders: [("Bcc", "x@example.org")])
        }
        #expect(throws: MailError.invalidHeader(name: "X-Bad:Name")) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", extraHeaders: [("X-Bad:Name", "v")])
        }
        #expect(throws: MailError.invalidUnsubscribeURL) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", unsubscribeURL: URL(string: "http://kring.example/s/u/1"))
        }
        #expect(throws: MailError.invalidUnsubscribeURL) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", unsubscribeURL: URL(string: "https:/no-host"))
        }
        #expect(throws: MailError.invalidHeader(name: "Message-ID")) {
            try MailMessage(from: from, to: to, subject: "Hoi", text: "x", messageID: "abc>\r\nBcc: x@example.org")
        }
    }

    @Test func writerProducesMultipartAlternativeWithAllHeaders() throws {
        let text = "Beste Anna,\n\nDe voorleesochtend is op zaterdag \u{2014} caf\u{e9} open om 10:00.\nKosten: \u{20ac} 2,50 = weinig.\n.\n"
        let html = "<p>Beste Anna,</p>\n<p>De voorleesochtend is op <b>zaterdag</b> \u{2014} caf\u{e9} open.</p>"
        let message = try Self.message(subject: "Voorlezen in het caf\u{e9}", text: text, html: html)
        var generator = SplitMix64(seed: 1)
        let bytes = try MIMEWriter(now: { Self.now }).write(message, using: &generator)
        let raw = String(decoding: bytes, as: UTF8.self)
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "every line ends in CRLF")
        #expect(bytes.allSatisfy { $0 < 0x80 }, "7-bit clean")

        let entity = MIMEEntity(parsing: bytes)
        #expect(entity.header("Date") == "Fri, 27 Nov 2026 12:00:00 +0000")
        #expect(entity.header("MIME-Version") == "1.0")
        #expect(entity.header("Message-ID") == "<\(message.messageID)>")
        #expect(message.messageID.hasSuffix("@bibliotheekzk.example"))
        #expect(message.messageID.split(separator: "@")[0].count == 32)
        #expect(entity.header("List-Unsubscribe") == "<https://kring.example/s/u/abc123>")
        #expect(entity.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
        #expect(entity.header("Reply-To") == "<info@bibliotheekzk.example>")
        #expect(entity.header("From") == "Bibliotheek Zuid-Kennemerland <nieuws@bibliotheekzk.example>")
        #expect(entity.header("X-Kring-Campaign") == "c-42")
        #expect(entity.contentType.value == "multipart/alternative")
        #expect(entity.contentType.parameters["boundary"]?.hasPrefix("=_kring_") == true)
        #expect(entity.parts.count == 2)
        #expect(entity.parts.map(\.contentType.value) == ["text/plain", "text/html"])
        #expect(entity.parts[0].text == text)
        #expect(entity.parts[1].text == html)
        #expect(
            entity.parts.allSatisfy {
                $0.header("Content-Transfer-Encoding") == "quoted-printable" && $0.contentType.parameters["charset"] == "utf-8"
            })

        // Different boundaries and message ids each time.
        var other = SplitMix64(seed: 2)
        let again = MIMEEntity(parsing: try MIMEWriter(now: { Self.now }).write(message, using: &other))
        #expect(again.contentType.parameters["boundary"] != entity.contentType.parameters["boundary"])
        #expect(try Self.message().messageID != Self.message().messageID)
    }

    @Test func textOnlyMessageIsASinglePartWithoutOneClickWhenNotAsked() throws {
        let message = try MailMessage(
            from: MailAddress("a@bibliotheek.example"), to: MailAddress("b@example.nl"), subject: "Hoi", text: "Alleen tekst \u{e9}",
            unsubscribeURL: URL(string: "https://kring.example/s/u/1"), oneClickUnsubscribe: false)
        let entity = MIMEEntity(parsing: try MIMEWriter().write(message))
        #expect(entity.contentType.value == "text/plain")
        #expect(entity.parts.isEmpty)
        #expect(entity.text == "Alleen tekst \u{e9}\n")  // the message ends with a line end
        #expect(entity.header("List-Unsubscribe") == "<https://kring.example/s/u/1>")
        #expect(entity.header("List-Unsubscribe-Post") == nil)
    }

    @Test func encodedWordsDecoderReadsOtherWriters() {
        #expect(EncodedWords.decode("=?ISO-8859-1?Q?Caf=E9?= au lait") == "Caf\u{e9} au lait")
        #expect(EncodedWords.decode("=?utf-8?B?Q2Fmw6k=?= =?utf-8?q?_cr=C3=A8me?=") == "Caf\u{e9} cr\u{e8}me")
        #expect(EncodedWords.decode("plain = text ?=") == "plain = text ?=")
    }
}

@Suite struct MailSenderTests {
    @Test func eachLibrarySendsAsItself() throws {
        let haarlem = try MailSender(settings: [
            "mail_from_address": "nieuws@bibliotheekzk.example", "mail_from_name": "Bibliotheek Zuid-Kennemerland",
            "mail_reply_to": "info@bibliotheekzk.example", "mail_return_path": "bounces+zk@kring.example",
        ])
        let hilversum = try MailSender(settings: ["mail_from_address": "post@bibliotheekhilversum.example"])
        let anna = try MailAddress("anna@example.nl")
        let one = try haarlem.message(to: anna, subject: "Hoi", text: "x", unsubscribeURL: URL(string: "https://kring.example/s/u/1"))
        let two = try hilversum.message(to: anna, subject: "Hoi", text: "x")
        let first = MIMEEntity(parsing: try MIMEWriter().write(one))
        let second = MIMEEntity(parsing: try MIMEWriter().write(two))
        #expect(first.header("From") == "Bibliotheek Zuid-Kennemerland <nieuws@bibliotheekzk.example>")
        #expect(first.header("Reply-To") == "<info@bibliotheekzk.example>")
        #expect(one.envelopeSender == "bounces+zk@kring.example")
        #expect(one.messageID.hasSuffix("@bibliotheekzk.example"))
        #expect(second.header("From") == "<post@bibliotheekhilversum.example>")
        #expect(second.header("Reply-To") == nil)
        #expect(two.envelopeSender == "post@bibliotheekhilversum.example")
        #expect(two.messageID.hasSuffix("@bibliotheekhilversum.example"))
        #expect(throws: MailError.self) { try MailSender(settings: [:]) }
        #expect(throws: MailError.self) {
            try MailSender(settings: ["mail_from_address": "x@y.example", "mail_from_name": "Evil\r\nBcc: a@b.example"])
        }
    }
}

@Suite struct MailDateTests {
    @Test func theDateHeaderIsInUTCWithEnglishNames() {
        #expect(MIMEWriter.rfc5322Date(Date(timeIntervalSince1970: 1_795_796_400)) == "Fri, 27 Nov 2026 16:20:00 +0000")
        #expect(MIMEWriter.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(MIMEWriter.rfc5322Date(Date(timeIntervalSince1970: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }
}
