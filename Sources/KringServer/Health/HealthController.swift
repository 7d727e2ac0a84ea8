import Foundation
import Hummingbird
import KringDatabase
import Prometheus

/// Liveness, readiness (database reachable, migrations current) and Prometheus metrics.
struct HealthController {
    let services: AppServices

    struct Status: ResponseEncodable {
        let status: String
        let database: String?
        let migrations: String?
    }

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("health/live") { _, _ in Status(status: "ok", database: nil, migrations: nil) }
        router.get("health/ready") { _, _ in try await ready() }
        router.get("metrics") { _, _ in try await metrics() }
    }

    func ready() async throws -> Response {
        let status: Status
        do {
            let current = try await services.db.withPlatform { tx in try await Migrator.isCurrent(services.migrations, in: tx) }
            status = Status(status: current ? "ok" : "unavailable", database: "ok", migrations: current ? "current" : "pending")
        } catch {
            status = Status(status: "unavailable", database: "unreachable", migrations: nil)
        }
        let body = try JSON.encoder.encode(status)
        return Response(
            status: status.status == "ok" ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func metrics() async throws -> Response {
        let registry = services.metrics
        registry.makeGauge(
            descriptor: .init(
                namespace: "kring", metricName: "db_connections_in_use", unitName: "",
                helpText: "PostgreSQL connections lent out by the application pool")
        )
        .set(Double(services.db.connectionsInUse))
        if let depth = try? await JobQueue(db: services.db).depth(now: services.now()) {
            registry.makeGauge(descriptor: .init(namespace: "kring", metricName: "job_queue_depth", unitName: "", helpText: "Jobs due to run now"))
                .set(Double(depth))
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}

/// Serves the OpenAPI document, the contract of `/api/v1`.
struct OpenAPIController {
    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get("openapi.yaml") { _, _ in
            let override = ProcessInfo.processInfo.environment["KRING_OPENAPI_PATH"]
            guard let url = ProjectFiles.locate("openapi.yaml", override: override) else {
                throw HTTPError(.notFound)
            }
            let data = try Data(contentsOf: url)
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
