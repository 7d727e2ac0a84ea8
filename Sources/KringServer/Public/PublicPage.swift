import Foundation
import Hummingbird
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase

/// The small HTML pages behind the links in mails (confirm, unsubscribe, preferences, evaluation): Dutch, no scripts, no
/// external resources, every printed value escaped. The token is in the URL, so pages send no referrer and are
/// never cached or indexed.
enum PublicPage {
    static func html(_ status: HTTPResponse.Status = .ok, title: String, body: String) -> Response {
        let page = """
            <!doctype html>
            <html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
            button{font-size:1rem;padding:.5rem 1rem}input[type=password],input[type=email],input[type=text]{font-size:1rem;padding:.4rem .5rem;width:100%;max-width:22rem;box-sizing:border-box}fieldset{border:0;padding:0;margin:1rem 0}label{display:block;margin:.25rem 0}</style>
            </head><body><h1>\(escape(title))</h1>
            \(body)
            </body></html>
            """
        return Response(status: status, headers: headers(contentType: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func headers(contentType: String) -> HTTPFields {
        [
            .contentType: contentType, .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer", .init("X-Robots-Tag")!: "noindex",
            .init("Content-Security-Policy")!:
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ]
    }

    static func escape(_ value: String) -> String { HTMLText.escape(value) }

    /// A paragraph of escaped text.
    static func paragraph(_ text: String) -> String { "<p>\(escape(text))</p>" }

    /// A form posting back to the page's own URL with one button.
    static func button(_ label: String, hidden: [String: String] = [:]) -> String {
        let fields = hidden.sorted { $0.key < $1.key }.map { #"<input type="hidden" name="\#(escape($0.key))" value="\#(escape($0.value))">"# }
            .joined()
        return #"<form method="post">\#(fields)<button type="submit">\#(escape(label))</button></form>"#
    }

    /// Runs a page's handler and renders its failures as HTML pages rather than problem+json.
    static func serve(_ context: KringRequestContext, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let reason as PublicFailure {
            return failure(reason)
        } catch CustomerError.invalid(let errors) {
            return failure(.invalid(errors.map(\.message).joined(separator: " ")))
        } catch let problem as Problem where problem.status < 500 {
            // The form itself could not be read (too large, a NUL character): the visitor's doing, not a fault of ours.
            return html(
                .init(code: problem.status), title: "Dat ging niet goed",
                body: paragraph("Het formulier kon niet worden gelezen. Typ je gegevens opnieuw en probeer het nog eens."))
        } catch {
            context.logger.error("public page failed", metadata: ["error": "\(type(of: error))"])
            return html(.internalServerError, title: "Er ging iets mis", body: paragraph("Probeer het later nog eens."))
        }
    }

    /// The answer to a link that cannot be used; says nothing about why beyond what the visitor can act on.
    static func failure(_ failure: PublicFailure) -> Response {
        switch failure {
        case .notFound: html(.notFound, title: "Niet gevonden", body: paragraph("Deze pagina bestaat niet."))
        case .invalidLink:
            html(
                .badRequest, title: "Link niet geldig", body: paragraph("Deze link is niet (meer) geldig. Gebruik de link uit je meest recente mail.")
            )
        case .invalid(let message): html(.unprocessableContent, title: "Dat ging niet goed", body: paragraph(message))
        }
    }
}

/// Why a public page cannot be served.
enum PublicFailure: Error {
    /// Unknown or suspended library, a token of another library, a record that does not exist.
    case notFound
    /// A token that is malformed, tampered with, made for another purpose or expired.
    case invalidLink
    /// Form input that cannot be used; the message is shown.
    case invalid(String)
}

/// The library of a public path and the claims of its token.
struct PublicLink {
    let tenant: Tenant
    let claims: LinkSigner.Claims

    /// Resolves `:tenant` (active libraries only) and verifies `:token` for `purpose`; the token must name the same
    /// library as the path, so a link of one library never acts on another.
    static func resolve(
        _ purpose: LinkSigner.Purpose, _ context: KringRequestContext, services: AppServices
    ) async throws(PublicFailure) -> PublicLink {
        guard let links = services.settings.links else { throw .notFound }
        let tenant = try await PublicLink.tenant(context, services: services)
        guard let token = context.parameters.get("token") else { throw .invalidLink }
        let claims: LinkSigner.Claims
        do {
            claims = try links.signer.verify(token, purpose: purpose, now: services.now())
        } catch {
            throw .invalidLink
        }
        guard claims.tenant == tenant.slug.value else { throw .notFound }
        return PublicLink(tenant: tenant, claims: claims)
    }

    /// The active library named by the path's `:tenant`.
    static func tenant(_ context: KringRequestContext, services: AppServices) async throws(PublicFailure) -> Tenant {
        guard let raw = context.parameters.get("tenant"), let slug = TenantSlug(raw) else { throw .notFound }
        let found: Tenant?
        do {
            found = try await services.db.withPlatform { tx in try await TenantDirectory.find(slug: slug, in: tx) }
        } catch {
            throw .notFound
        }
        guard let found, found.status == .active else { throw .notFound }
        return found
    }

    /// The token's subject as a UUID (a send or a customer).
    func subjectID() throws(PublicFailure) -> UUID {
        guard let id = UUID(uuidString: claims.subject) else { throw .invalidLink }
        return id
    }
}

/// An `application/x-www-form-urlencoded` body; a name may repeat (`lists=a&lists=b`).
/// A form posted as `application/x-www-form-urlencoded`.
public struct FormBody: Sendable {
    public let fields: [(name: String, value: String)]

    public init(_ text: String) {
        fields = text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]) else { return nil }
            return (name, parts.count > 1 ? decode(parts[1]) ?? "" : "")
        }
    }

    /// Reads a form of at most `limit` bytes (413 past it), refusing NUL in any field (400 naming it).
    public static func read(_ request: Request, limit: Int) async throws -> FormBody {
        guard let buffer = try? await request.body.collect(upTo: limit) else { throw Problem.tooLarge("The form is larger than \(limit) bytes.") }
        let form = FormBody(String(buffer: buffer))
        if let field = form.fields.first(where: { $0.name.contains("\0") || $0.value.contains("\0") }) {
            throw NULGuard.problem(field: field.name.contains("\0") ? "(form)" : field.name)
        }
        return form
    }

    public func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }
    public func values(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }
}
