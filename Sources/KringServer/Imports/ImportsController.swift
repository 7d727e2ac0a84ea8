import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase

/// Uploads of library-system exports, run by a worker; their progress and report.
///
/// `POST /imports?kind=members|registrations&dry_run=true&mark_missing_ended=false` with the CSV as the body
/// (optionally `mapping=` a JSON column mapping, URL-encoded); answers 202 with the import to follow.
struct ImportsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post { request, context in try await upload(request, context) }
        group.get(":id") { _, context in try await status(context) }
    }

    func upload(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<ImportRun> {
        let (principal, tenant) = try context.requireTenant(.importsWrite)
        let query = request.uri.queryParameters
        // Organisations and contacts have their own routes (POST /organisations/import, /contacts/import).
        guard let kind = Imports.Kind(rawValue: query["kind"].map(String.init) ?? "members"), kind == .members || kind == .registrations else {
            throw Problem.validation([FieldError(field: "kind", message: "Use members or registrations.")])
        }
        func flag(_ name: String) throws -> Bool {
            guard let raw = query[Substring(name)] else { return false }
            switch raw.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw Problem.validation([FieldError(field: name, message: "Use true or false.")])
            }
        }
        let mapping: String?
        do {
            if let raw = query["mapping"] { try NULGuard.checkJSON(raw.utf8, field: "mapping") }
            mapping = try Imports.mappingJSON(query["mapping"].map(String.init), for: kind)
        } catch let error as ImportError {
            guard case .unreadable(let reason) = error else { throw error }
            throw Problem.validation([FieldError(field: "mapping", message: reason)])
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: services.settings.maxImportBytes)
        } catch {
            throw Problem.tooLarge("An import file may be at most \(services.settings.maxImportBytes) bytes.")
        }
        let run = try await ImportUploads.start(
            kind: kind, file: Array(buffer.readableBytesView), mappingJSON: mapping, dryRun: try flag("dry_run"),
            markMissingEnded: try flag("mark_missing_ended"), principal: principal, tenant: tenant, services: services)
        return EditedResponse(status: .accepted, headers: [.location: "/api/v1/imports/\(run.id.uuidString.lowercased())"], response: run)
    }

    func status(_ context: KringRequestContext) async throws -> ImportRun {
        let (_, tenant) = try context.requireTenant(.importsWrite)
        let id = try uuid(context, "id", Problem.notFound("No such import in this library."))
        guard let run = try await services.db.withTenant(tenant, { tx in try await Imports.find(id, in: tx) }) else {
            throw Problem.notFound("No such import in this library.")
        }
        return run
    }
}

extension ImportRun: ResponseEncodable {}

/// The job kinds of the B2C module, for `kring worker` (and tests). Its import job also runs the relations module's
/// imports of organisations and contacts.
public enum B2CJobs {
    public static func handlers(db: Database, now: @escaping @Sendable () -> Date) -> [String: JobHandler] {
        [
            Imports.jobKind: { job in
                // A payload that does not decode fails the job (it is not silently done).
                let payload = try UnreadableColumn.json(Imports.JobPayload.self, job.payload, column: "payload")
                guard let tenantID = job.tenantID,
                    let tenant = try await db.withPlatform({ tx in try await TenantDirectory.find(id: tenantID, in: tx) })
                else { return }
                try await Imports.run(
                    importID: payload.importID, tenant: tenant, db: db, now: now, runners: RelationsJobs.importRunners(db: db, now: now))
            }
        ]
    }
}
