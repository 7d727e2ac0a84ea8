import Foundation
import KringCampaigns
import KringCore
import Testing

/// Rendering without a database: escaping per part, the layout's footer, link tracking and the open pixel.
@Suite struct TemplateRenderingTests {
    static let links = ["unsubscribe_url": "https://kring.test/s/afmelden?t=a&b=c", "preferences_url": "https://kring.test/s/voorkeuren?t=a"]

    static func context(firstName: String = "Anna") -> RecipientContext {
        RecipientContext(
            customer: ["first_name": firstName, "last_name": "de Vries", "full_name": "\(firstName) de Vries", "age": "34"],
            branch: ["name": "Centrale"], library: ["name": "Bibliotheek Zuid-Kennemerland"],
            activities: [
                ["title": "Taalcafé", "when": "zaterdag 12 december, 14:00", "branch": "Centrale"],
                ["title": "Voorlezen", "when": "zondag 13 december, 10:30", "branch": "Noord"],
            ],
            variables: ["confirm_url": "https://kring.test/s/bevestig?x=1&y=2"], links: links)
    }

    @Test func htmlEscapesValuesAndTextAndSubjectDoNot() throws {
        let content = TemplateContent(
            subject: "Hallo {{customer.first_name}}", html: "<p>Hallo {{customer.first_name}}</p>", text: "Hallo {{customer.first_name}}")
        let mail = try MailRenderer(layout: .standard).render(content, context: Self.context(firstName: "Ann & <Bo>"), tracking: nil)
        #expect(mail.subject == "Hallo Ann & <Bo>")
        #expect(mail.html.contains("<p>Hallo Ann &amp; &lt;Bo&gt;</p>"))
        #expect(!mail.html.contains("<Bo>"))
        #expect(mail.text.hasPrefix("Hallo Ann & <Bo>\n"))
    }

    @Test func personalFieldsActivitiesAndSendContextFillTheTemplate() throws {
        let content = TemplateContent(
            subject: "{{customer.full_name}} ({{customer.age}})",
            html:
                "<p>{{branch.name}}</p><ul>{{#activities}}<li>{{title}}: {{when}} in {{branch}}</li>{{/activities}}</ul><a href=\"{{confirm_url}}\">Bevestig</a>",
            text: "{{#activities}}- {{title}}, {{when}}\n{{/activities}}Bevestig: {{confirm_url}}")
        let mail = try MailRenderer(layout: .standard).render(content, context: Self.context(), tracking: nil)
        #expect(mail.subject == "Anna de Vries (34)")
        #expect(
            mail.html.contains(
                "<p>Centrale</p><ul><li>Taalcafé: zaterdag 12 december, 14:00 in Centrale</li><li>Voorlezen: zondag 13 december, 10:30 in Noord</li></ul>"
            ))
        #expect(mail.html.contains("href=\"https://kring.test/s/bevestig?x=1&amp;y=2\""))
        #expect(
            mail.text.hasPrefix(
                "- Taalcafé, zaterdag 12 december, 14:00\n- Voorlezen, zondag 13 december, 10:30\nBevestig: https://kring.test/s/bevestig?x=1&y=2"))
    }

    @Test func theStandardLayoutHasTheFooterWithTheRecipientsLinks() throws {
        let content = TemplateContent(subject: "Nieuws", html: "<p>Inhoud</p>", text: "Inhoud")
        let mail = try MailRenderer(layout: .standard).render(content, context: Self.context(), tracking: nil)
        #expect(mail.html.contains("<p>Inhoud</p>"))
        #expect(mail.html.contains("<p>Bibliotheek Zuid-Kennemerland</p>"))
        #expect(mail.html.contains("<a href=\"https://kring.test/s/afmelden?t=a&amp;b=c\" style=\"color:#666666;\">Afmelden</a>"))
        #expect(mail.html.contains(">Voorkeuren aanpassen</a>"))
        #expect(
            mail.text.contains(
                "Inhoud\n\n--\nBibliotheek Zuid-Kennemerland\nAfmelden: https://kring.test/s/afmelden?t=a&b=c\nVoorkeuren aanpassen: https://kring.test/s/voorkeuren?t=a"
            ))
        // A layout of the library's own.
        let own = MailLayout(html: "<main>{{{content}}}</main><footer>{{library.name}}</footer>", text: "{{{content}}}\n{{library.name}}")
        let framed = try MailRenderer(layout: own).render(content, context: Self.context(), tracking: nil)
        #expect(framed.html == "<main><p>Inhoud</p></main><footer>Bibliotheek Zuid-Kennemerland</footer>")
        #expect(framed.text == "Inhoud\nBibliotheek Zuid-Kennemerland")
    }

    @Test func trackingRewritesLinksButNotTheRecipientsOwnAndAddsThePixel() throws {
        let content = TemplateContent(
            subject: "Agenda https://bieb.test/agenda",
            html:
                "<p><a href=\"https://bieb.test/agenda?a=1&amp;b=2\">Agenda</a> <a class=x HREF = 'http://bieb.test/x'>X</a> <a href=\"mailto:info@bieb.test\">Mail</a> <a href=\"{{preferences_url}}\">Voorkeuren</a></p>",
            text: "Kijk op https://bieb.test/agenda. Of (http://bieb.test/x)\nAfmelden kan ook: {{unsubscribe_url}}")
        let tracking = LinkTracking(rewrite: { "https://t.test/c?u=" + $0 }, openPixelURL: "https://t.test/o/1.gif")
        let mail = try MailRenderer(layout: .standard).render(content, context: Self.context(), tracking: tracking)
        #expect(mail.subject == "Agenda https://bieb.test/agenda")
        #expect(mail.html.contains("<a href=\"https://t.test/c?u=https://bieb.test/agenda?a=1&amp;b=2\">Agenda</a>"))
        #expect(mail.html.contains("HREF = 'https://t.test/c?u=http://bieb.test/x'"))
        #expect(mail.html.contains("href=\"mailto:info@bieb.test\""))
        #expect(mail.html.contains("<a href=\"https://kring.test/s/voorkeuren?t=a\">Voorkeuren</a>"))
        #expect(mail.html.contains("<a href=\"https://kring.test/s/afmelden?t=a&amp;b=c\" style"))
        #expect(!mail.html.contains("u=https://kring.test"))
        #expect(mail.text.hasPrefix("Kijk op https://t.test/c?u=https://bieb.test/agenda. Of (https://t.test/c?u=http://bieb.test/x)\n"))
        #expect(mail.text.contains("Afmelden kan ook: https://kring.test/s/afmelden?t=a&b=c\n"))
        #expect(!mail.text.contains("u=https://kring.test"))
        #expect(mail.html.contains("<img src=\"https://t.test/o/1.gif\" width=\"1\" height=\"1\""))
        let pixel = try #require(mail.html.range(of: "<img src=\"https://t.test/o/1.gif\""))
        let body = try #require(mail.html.range(of: "</body>"))
        #expect(pixel.upperBound < body.lowerBound)
        // Without a </body>, the pixel goes at the end.
        let bare = try MailRenderer(layout: MailLayout(html: "{{{content}}}", text: "{{{content}}}")).render(
            content, context: Self.context(), tracking: tracking)
        #expect(
            bare.html.hasSuffix(
                "<img src=\"https://t.test/o/1.gif\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0;\">"))
    }

    @Test func missingDataRendersEmpty() throws {
        let content = TemplateContent(
            subject: "Hallo {{customer.first_name}}{{nothing.here}}",
            html: "<p>{{customer.age}}|{{branch.name}}|{{#activity}}{{title}}{{/activity}}{{^activities}}geen{{/activities}}</p>",
            text: "{{activity.when}}|{{unsubscribe_url}}")
        let mail = try MailRenderer(layout: .standard).render(content, context: RecipientContext(), tracking: nil)
        #expect(mail.subject == "Hallo")
        #expect(mail.html.contains("<p>||geen</p>"))
        #expect(!mail.html.contains("Afmelden"))
        #expect(mail.text.hasPrefix("|\n"))
    }

    @Test func theSubjectCanBeReplacedAndIsOneLine() throws {
        let content = TemplateContent(subject: "A", html: "x", text: "x")
        let mail = try MailRenderer(layout: .standard).render(
            content, subject: "B voor\n {{customer.first_name}}", context: Self.context(), tracking: nil)
        #expect(mail.subject == "B voor Anna")
    }

    @Test(arguments: [("subject", "Hallo {{customer.first_name"), ("html", "{{#activities}}<p>{{title}}</p>"), ("text", "{{#a}}x{{/b}}")])
    func aPartThatDoesNotParseIsNamed(field: String, source: String) throws {
        var draft = TemplateDraft(name: "Kapot", subject: "Hallo", html: "<p>Hallo</p>", text: "Hallo")
        switch field {
        case "subject": draft.subject = source
        case "html": draft.html = source
        default: draft.text = source
        }
        do {
            _ = try draft.validate()
            Issue.record("\(field) should not parse")
        } catch TemplateError.invalid(let errors) {
            #expect(errors.map(\.field) == [field])
            #expect(errors.first?.message.contains("line 1") == true)
        }
        #expect(throws: (any Error).self) {
            try MailRenderer(layout: .standard).render(
                TemplateContent(subject: source, html: source, text: source),
                context: Self.context(), tracking: nil)
        }
    }
}
