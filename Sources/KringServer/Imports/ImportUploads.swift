import Foundation
import KringAuth
import KringB2C
import KringCore
import KringDatabase

/// Starting an import, for the API and the web app alike: store the upload with the library and queue the job.
public enum ImportUploads {
    /// Queues the worker's job for a stored import; when that fails the import is marked failed and the error rethrown.
    public static func enqueue(_ run: ImportRun, tenant: Tenant, services: AppServices, now: Date) async throws {
        do {
            let payload = String(decoding: try JSONEncoder().encode(Imports.JobPayload(importID: run.id)), as: UTF8.self)
            try await services.db.withPlatform { tx in
                try await JobQueue.enqueue(kind: Imports.jobKind, payload: payload, tenantID: tenant.id, runAt: now, maxAttempts: 3, in: tx)
            }
        } catch {
            try? await services.db.withTenant(tenant) { tx in try await Imports.markFailed(run.id, error: "could not be queued", now: now, in: tx) }
            throw error
        }
    }

    /// Stores an uploaded file as an import and queues it.
    public static func start(
        kind: Imports.Kind, file: [UInt8], mappingJSON: String?, dryRun: Bool, markMissingEnded: Bool,
        principal: Principal, tenant: Tenant, services: AppServices
    ) async throws -> ImportRun {
        let actor = AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID)
        let now = services.now()
        let run = try await services.db.withTenant(tenant) { tx in
            try await Imports.create(
                kind: kind, file: file, mappingJSON: mappingJSON, dryRun: dryRun, markMissingEnded: markMissingEnded,
                by: actor, now: now, in: tx)
        }
        try await enqueue(run, tenant: tenant, services: services, now: now)
        return run
    }

    /// The real import (or, `dryRun`, another dry run) of a finished dry run's file; nil when that file is gone.
    public static func again(dryRunID: UUID, dryRun: Bool, principal: Principal, tenant: Tenant, services: AppServices) async throws -> ImportRun? {
        let actor = AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID)
        let now = services.now()
        guard
            let run = try await services.db.withTenant(
                tenant,
                { tx in
                    try await Imports.again(dryRunID: dryRunID, dryRun: dryRun, by: actor, now: now, in: tx)
                })
        else { return nil }
        try await enqueue(run, tenant: tenant, services: services, now: now)
        return run
    }
}
