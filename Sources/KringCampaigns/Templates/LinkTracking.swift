/// How links are rewritten for click tracking; a renderer given nil leaves links as they are.
public struct LinkTracking: Sendable {
    /// Maps a link's URL to the tracking URL that redirects to it.
    public let rewrite: @Sendable (String) -> String
    /// An image URL that counts an open, added as a 1x1 image at the end of the HTML part.
    public let openPixelURL: String?

    public init(rewrite: @escaping @Sendable (String) -> String, openPixelURL: String?) {
        self.rewrite = rewrite
        self.openPixelURL = openPixelURL
    }
}
