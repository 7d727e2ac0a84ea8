import Foundation
import Mustache
import Synchronization

/// Renders templates for recipients. Each distinct template text is parsed once and kept (the send worker renders
/// the same campaign for thousands of recipients); one renderer is shared by all tasks of a worker.
public final class MailRenderer: Sendable {
    /// Prefixed to the subject and text part so that values are not HTML-escaped there.
    static let textPragma = "{{% CONTENT_TYPE: TEXT}}"
    /// Parsed templates kept at most; past this the cache starts afresh (a worker meets few distinct templates).
    static let cacheLimit = 512

    private struct Key: Hashable {
        let source: String
        let isText: Bool
    }

    /// Nil only when neither the given nor the standard layout parses; the part is then sent without a frame.
    private let layoutHTML: MustacheTemplate?
    private let layoutText: MustacheTemplate?
    private let cache = Mutex<[Key: MustacheTemplate]>([:])

    /// A layout that does not parse falls back to the standard one (`MailLayouts.load` hands out only layouts that
    /// parse, so this is a safety net, not a path).
    public init(layout: MailLayout) {
        layoutHTML = (try? MustacheTemplate(string: layout.html)) ?? (try? MustacheTemplate(string: MailLayout.standard.html))
        layoutText =
            (try? MustacheTemplate(string: Self.textPragma + layout.text))
            ?? (try? MustacheTemplate(string: Self.textPragma + MailLayout.standard.text))
    }

    /// `subject` replaces the template's subject (an A/B variant); it is a Mustache template too. Throws the parser's
    /// error when a template does not parse.
    public func render(_ content: TemplateContent, subject: String? = nil, context: RecipientContext, tracking: LinkTracking?) throws -> RenderedMail
    {
        let object = context.mustacheObject
        let subjectLine = try template(subject ?? content.subject, isText: true).render(object)
        let htmlBody = try template(content.html, isText: false).render(object)
        let textBody = try template(content.text, isText: true).render(object)
        var html = layoutHTML?.render(LayoutScope(content: htmlBody, object: object)) ?? htmlBody
        var text = layoutText?.render(LayoutScope(content: textBody, object: object)) ?? textBody
        if let tracking {
            let direct = Set(context.links.values.filter { !$0.isEmpty })
            html = TrackedLinks.rewriteHTML(html, direct: direct, rewrite: tracking.rewrite)
            text = TrackedLinks.rewriteText(text, direct: direct, rewrite: tracking.rewrite)
            if let pixel = tracking.openPixelURL {
                html = TrackedLinks.addOpenPixel(pixel, to: html)
            }
        }
        return RenderedMail(subject: Self.singleLine(subjectLine), html: html, text: text)
    }

    /// Checks that a template text parses; the message names what is wrong and where.
    public static func check(_ source: String) -> String? {
        do {
            _ = try MustacheTemplate(string: source)
            return nil
        } catch let error as MustacheTemplate.ParserError {
            return
                "\(describe(error.error)) (line \(error.context.lineNumber), column \(error.context.columnNumber): \(error.context.line.trimmingCharacters(in: .whitespaces)))"
        } catch {
            return "The template does not parse: \(error)."
        }
    }

    // MARK: Helpers

    private func template(_ source: String, isText: Bool) throws -> MustacheTemplate {
        let key = Key(source: source, isText: isText)
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let parsed = try MustacheTemplate(string: isText ? Self.textPragma + source : source)
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = parsed
        }
        return parsed
    }

    /// A subject is one header line: line breaks and runs of spaces become one space.
    static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? MustacheTemplate.Error else { return "The template does not parse: \(error)." }
        return switch error {
        case .sectionCloseNameIncorrect: "A section is closed with another name than the one it was opened with"
        case .unfinishedName: "A tag is not closed (a {{ without }})"
        case .expectedSectionEnd: "A section is opened but never closed (a {{#name}} without {{/name}})"
        case .invalidSetDelimiter: "A set-delimiter tag is malformed"
        case .transformAppliedToInheritanceSection: "A transform is applied to an inheritance section"
        case .illegalTokenInsideInheritSection: "An inheritance section holds a tag it may not hold"
        case .textInsideInheritSection: "An inheritance section holds text"
        case .invalidConfigVariableSyntax: "A {{% ...}} pragma is malformed"
        case .unrecognisedConfigVariable: "A {{% ...}} pragma is unknown"
        }
    }
}

/// The layout's view: `content` is the rendered part, everything else is the recipient's object.
private struct LayoutScope: MustacheParent {
    let content: String
    let object: [String: Any]

    func child(named name: String) -> Any? {
        name == "content" ? content : object[name]
    }
}
