/// What a mail template says: a Mustache subject, HTML part and text part.
public struct TemplateContent: Sendable, Hashable {
    public var subject: String
    public var html: String
    public var text: String

    public init(subject: String, html: String, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}
