import Foundation
import Hummingbird
import HummingbirdAuth
import Logging
import ServiceLifecycle

/// Builds the router with every route; `buildApplication` and the tests both use it.
public func buildRouter(_ services: AppServices) -> Router<KringRequestContext> {
    let router = Router(context: KringRequestContext.self)
    // Metrics outside, so they count the status of the problem response rather than a thrown error.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ProblemMiddleware(trustForwardedFor: services.settings.trustForwardedFor))

    HealthController(services: services).addRoutes(to: router)

    let api = router.group("api/v1")
    OpenAPIController().addRoutes(to: api)
    AuthController(services: services).addPublicRoutes(to: api)
    let authenticated = api.add(middleware: BearerAuthenticator(authentication: services.authentication))
    AuthController(services: services).addRoutes(to: authenticated)
    AdminTenantsController(services: services).addRoutes(to: authenticated.group("admin/tenants"))
    UsersController(services: services).addRoutes(to: authenticated.group("users"))
    APIKeysController(services: services).addRoutes(to: authenticated.group("api-keys"))
    BranchesController(services: services).addRoutes(to: authenticated.group("branches"))
    CustomersController(services: services).addRoutes(to: authenticated.group("customers"))
    ActivitiesController(services: services).addRoutes(
        activities: authenticated.group("activities"), registrations: authenticated.group("registrations"))
    ComplaintsController(services: services).addRoutes(to: authenticated.group("complaints"))
    ImportsController(services: services).addRoutes(to: authenticated.group("imports"))
    SettingsController(services: services).addRoutes(to: authenticated.group("settings"))
    OrganisationsController(services: services).addRoutes(to: authenticated.group("organisations"), types: authenticated.group("organisation-types"))
    ContactsController(services: services).addRoutes(to: authenticated.group("contacts"))
    InteractionsController(services: services).addRoutes(to: authenticated.group("interactions"))
    TasksController(services: services).addRoutes(to: authenticated.group("tasks"))
    OrdersController(services: services).addRoutes(to: authenticated.group("orders"))
    AgreementsController(services: services).addRoutes(to: authenticated.group("agreements"))
    SegmentsController(services: services).addRoutes(to: authenticated.group("segments"))
    CampaignsController(services: services).addRoutes(to: authenticated.group("campaigns"))
    TemplatesController(services: services).addRoutes(to: authenticated.group("templates"))
    ListsController(services: services).addRoutes(to: authenticated.group("lists"))
    EmailEventsController(services: services).addRoutes(to: authenticated.group("email-events"))
    SubscriptionPagesController(services: services).addRoutes(to: router.group("s"))
    EvaluationPagesController(services: services).addRoutes(to: router.group("s"))
    TrackingController(services: services).addRoutes(to: router.group("t"))
    PasswordPageController(services: services).addRoutes(to: router.group("wachtwoord"))
    return router
}

public func buildApplication(_ services: AppServices, extraServices: [any Service], logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services),
        configuration: .init(address: .hostname(services.settings.host, port: services.settings.port), serverName: "Kring"),
        services: extraServices,
        logger: logger)
}
