import Crypto
import Foundation

/// The public links in mails and on the library's pages, each carrying a signed token (see `LinkSigner`).
///
/// Paths (under `baseURL`), all naming the library by its slug:
/// - `/s/{tenant}/c/{token}`: double opt-in confirmation (GET shows the page, POST confirms)
/// - `/s/{tenant}/u/{token}`: unsubscribe (GET asks to confirm, POST is the RFC 8058 one-click)
/// - `/s/{tenant}/p/{token}`: preference centre
/// - `/s/{tenant}/e/{token}`: evaluation of an attended activity (GET shows the form, POST records it)
/// - `/t/{tenant}/o/{token}`: open pixel
/// - `/t/{tenant}/c/{token}?u={url}`: click redirect; the token signs the send and the URL's hash, so only a
///   link that was in the mail redirects
public struct PublicLinks: Sendable {
    /// Where Kring is reached from outside, without a trailing slash, e.g. `https://kring.probiblio.nl`.
    public let baseURL: String
    public let signer: LinkSigner

    /// How long links in a mail keep working: a newsletter is unsubscribed from long after it arrived.
    public static let mailLinkLifetime: TimeInterval = 400 * 86_400
    /// How long a double opt-in link works.
    public static let confirmLifetime: TimeInterval = 7 * 86_400

    public init(baseURL: String, signer: LinkSigner) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.signer = signer
    }

    public func confirm(tenant: String, consentID: Int64, now: Date) -> String {
        let token = signer.token(.confirm, tenant: tenant, subject: String(consentID), expires: now + Self.confirmLifetime)
        return "\(baseURL)/s/\(tenant)/c/\(token)"
    }

    public func unsubscribe(tenant: String, sendID: UUID, now: Date) -> String {
        let token = signer.token(.unsubscribe, tenant: tenant, subject: sendID.uuidString.lowercased(), expires: now + Self.mailLinkLifetime)
        return "\(baseURL)/s/\(tenant)/u/\(token)"
    }

    public func preferences(tenant: String, customerID: UUID, now: Date) -> String {
        let token = signer.token(.preferences, tenant: tenant, subject: customerID.uuidString.lowercased(), expires: now + Self.mailLinkLifetime)
        return "\(baseURL)/s/\(tenant)/p/\(token)"
    }

    public func evaluate(tenant: String, registrationID: UUID, now: Date) -> String {
        let token = signer.token(.evaluate, tenant: tenant, subject: registrationID.uuidString.lowercased(), expires: now + Self.mailLinkLifetime)
        return "\(baseURL)/s/\(tenant)/e/\(token)"
    }

    public func openPixel(tenant: String, sendID: UUID, now: Date) -> String {
        let token = signer.token(.open, tenant: tenant, subject: sendID.uuidString.lowercased(), expires: now + Self.mailLinkLifetime)
        return "\(baseURL)/t/\(tenant)/o/\(token)"
    }

    public func click(tenant: String, sendID: UUID, url: String, now: Date) -> String {
        let subject = sendID.uuidString.lowercased() + ":" + Self.urlDigest(url)
        let token = signer.token(.click, tenant: tenant, subject: subject, expires: now + Self.mailLinkLifetime)
        return "\(baseURL)/t/\(tenant)/c/\(token)?u=\(Self.queryEscaped(url))"
    }

    /// The send id and target of a click token, if `url` is the link the token was made for.
    public static func clickTarget(_ claims: LinkSigner.Claims, url: String) -> (sendID: UUID, url: String)? {
        let parts = claims.subject.split(separator: ":")
        guard claims.purpose == .click, parts.count == 2, let sendID = UUID(uuidString: String(parts[0])),
            parts[1] == urlDigest(url)
        else { return nil }
        return (sendID, url)
    }

    static func urlDigest(_ url: String) -> String {
        LinkSigner.base64url(Data(SHA256.hash(data: Data(url.utf8)).prefix(16)))
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
