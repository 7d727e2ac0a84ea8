import Foundation
import Hummingbird
import KringServer

/// The staff web app: pages under `/` for a library's staff and `/platform` for Probiblio, on the same services,
/// permissions and tenancy as the API.
public struct WebApp: Sendable {
    let services: AppServices
    let templates: WebTemplates

    public init(services: AppServices, templates: WebTemplates) {
        self.services = services
        self.templates = templates
    }

    public func addRoutes(to router: Router<KringRequestContext>) {
        let cookies = WebCookies(secure: services.settings.publicURL.lowercased().hasPrefix("https://"))
        router.add(middleware: WebMiddleware(services: services, templates: templates, cookies: cookies))
        router.get("static/:file") { request, context in try staticFile(request, context) }
        HomePages(services: services, templates: templates).addRoutes(to: router)
        SignInPages(services: services, templates: templates, cookies: cookies).addRoutes(to: router)
        CustomerPrivacyPages(services: services, templates: templates).addRoutes(to: router)
        CustomerPages(services: services, templates: templates).addRoutes(to: router)
        ActivityPages(services: services, templates: templates).addRoutes(to: router)
        ComplaintPages(services: services, templates: templates).addRoutes(to: router)
        AdminPages(services: services, templates: templates).addRoutes(to: router)
        ImportPages(services: services, templates: templates, area: ImportPages.admin).addRoutes(to: router)
        ImportPages(services: services, templates: templates, area: ImportPages.relations).addRoutes(to: router)
        OrganisationPages(services: services, templates: templates).addRoutes(to: router)
        InteractionPages(services: services, templates: templates).addRoutes(to: router)
        OrderPages(services: services, templates: templates).addRoutes(to: router)
        TaskPages(services: services, templates: templates).addRoutes(to: router)
        ContactPages(services: services, templates: templates).addRoutes(to: router)
        CampaignPages(services: services, templates: templates).addRoutes(to: router)
        SegmentPages(services: services, templates: templates).addRoutes(to: router)
        ListPages(services: services, templates: templates).addRoutes(to: router)
        JourneyPages(services: services, templates: templates).addRoutes(to: router)
        TemplatePages(services: services, templates: templates).addRoutes(to: router)
        MosaicPages(services: services, templates: templates).addRoutes(to: router)
        FigurePages(services: services, templates: templates).addRoutes(to: router)
        QuietMemberPages(services: services, templates: templates).addRoutes(to: router)
        PlatformPages(services: services, templates: templates).addRoutes(to: router)
    }

    private func staticFile(_ request: Request, _ context: KringRequestContext) throws -> Response {
        guard let name = context.parameters.get("file"), let file = templates.files[name] else { throw HTTPError(.notFound) }
        if request.headers[.ifNoneMatch] == file.etag {
            return Response(status: .notModified, headers: [.eTag: file.etag])
        }
        return Response(
            status: .ok, headers: [.contentType: file.contentType, .eTag: file.etag, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: file.bytes))
    }
}

/// The router with the API, the public pages and the web app.
public func buildKringRouter(_ services: AppServices, templates: WebTemplates) -> Router<KringRequestContext> {
    let router = buildRouter(services)
    WebApp(services: services, templates: templates).addRoutes(to: router)
    return router
}
