/// One recipient's mail, ready for MIME: a single-line subject, the HTML part inside the layout and the text part.
public struct RenderedMail: Sendable {
    public let subject: String
    public let html: String
    public let text: String
}
