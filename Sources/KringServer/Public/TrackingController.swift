import Foundation
import Hummingbird
import KringCampaigns
import KringCore
import KringDatabase

/// Open pixel and click redirect under `/t/{tenant}`. Opens and clicks are recorded only where the library switched
/// `mail_tracking` on; the pixel and the redirect work either way.
struct TrackingController {
    let services: AppServices

    /// A transparent 1x1 GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get(":tenant/o/:token") { _, context in try await open(context) }
        group.get(":tenant/c/:token") { request, context in try await click(request, context) }
    }

    func open(_ context: KringRequestContext) async throws -> Response {
        let link = try await resolve(.open, context)
        guard let sendID = UUID(uuidString: link.claims.subject) else { throw Problem.badRequest("This link is not valid.") }
        let now = services.now()
        try await services.db.withTenant(link.tenant) { tx in try await Tracking.opened(sendID: sendID, now: now, in: tx) }
        return Response(
            status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer"],
            body: .init(byteBuffer: ByteBuffer(bytes: Self.pixel)))
    }

    /// Redirects only to the URL the token was signed for, so the route is no open redirect.
    func click(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let link = try await resolve(.click, context)
        guard let url = request.uri.queryParameters["u"].map(String.init), let target = PublicLinks.clickTarget(link.claims, url: url),
            let scheme = URL(string: target.url)?.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { throw Problem.badRequest("This link is not valid.") }
        let now = services.now()
        try await services.db.withTenant(link.tenant) { tx in try await Tracking.clicked(sendID: target.sendID, url: target.url, now: now, in: tx) }
        return Response(status: .found, headers: [.location: target.url, .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer"])
    }

    private func resolve(_ purpose: LinkSigner.Purpose, _ context: KringRequestContext) async throws -> PublicLink {
        do {
            return try await PublicLink.resolve(purpose, context, services: services)
        } catch PublicFailure.notFound {
            throw Problem.notFound()
        } catch {
            throw Problem.badRequest("This link is not valid.")
        }
    }
}
