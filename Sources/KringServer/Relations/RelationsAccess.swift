import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

// The B2B module knows nothing of HTTP; these conformances let its values be route results.
extension Organisation: ResponseEncodable {}
extension OrganisationType: ResponseEncodable {}
extension AccountView: ResponseEncodable {}
extension ContactDetail: ResponseEncodable {}
extension Contact: ResponseEncodable {}
extension ContactRole: ResponseEncodable {}
extension ContactConsent: ResponseEncodable {}
extension Interaction: ResponseEncodable {}
extension RelationTask: ResponseEncodable {}
extension Order: ResponseEncodable {}
extension Agreement: ResponseEncodable {}
extension RelationImportReport: ResponseEncodable {}

extension AppServices {
    /// `inTenant` for the relations routes: an unknown id in the path (which may be another library's) answers 404,
    /// and the probe is audited in a transaction of its own, since the request's own transaction rolls back.
    func inRelations<T: Sendable>(
        _ permission: Permission, _ context: KringRequestContext, probing ids: [UUID] = [],
        _ body: (TenantTransaction, AuditActor, Date) async throws -> T
    ) async throws -> T {
        do {
            return try await inTenant(permission, context, body)
        } catch RelationsError.notFound(let subject) where !ids.isEmpty {
            let (principal, tenant) = try context.requireTenant(permission)
            let actor = AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID)
            let now = self.now()
            try? await db.withTenant(tenant) { tx in
                for id in ids {
                    try await TenantAudit.record(
                        "access.unknown_resource", subjectType: subject.rawValue, subjectID: id.uuidString.lowercased(),
                        by: actor, at: now, in: tx)
                }
            }
            throw RelationsError.notFound(subject)
        }
    }

    /// Staff users named in a body (account owner, assignee, participants) must be staff of the caller's library.
    func requireStaff(_ named: [(field: String, id: UUID?)], _ context: KringRequestContext) async throws {
        let ids = named.compactMap { item in item.id.map { (item.field, $0) } }
        guard !ids.isEmpty, let tenant = context.identity?.tenant else { return }
        let errors = try await db.withPlatform { tx in
            var errors: [FieldError] = []
            for (field, id) in ids {
                let member = try await StaffAccounts.member(userID: id, tenantID: tenant.id, in: tx)
                if member == nil || member?.disabled == true || member?.user.disabled == true {
                    errors.append(FieldError(field: field, message: "No active staff member of this library has this id."))
                }
            }
            return errors
        }
        if !errors.isEmpty { throw RelationsError.invalid(errors) }
    }

    /// Lowercased e-mail address -> user id of the library's active staff, for imports that name account owners.
    func staffByEmail(_ tenant: Tenant) async throws -> [String: UUID] {
        try await Self.staffByEmail(tenant, db: db)
    }

    static func staffByEmail(_ tenant: Tenant, db: Database) async throws -> [String: UUID] {
        try await db.withPlatform { tx in
            var staff: [String: UUID] = [:]
            var after: UUID?
            while true {
                let page = try await StaffAccounts.members(tenantID: tenant.id, after: after, limit: 500, in: tx)
                for member in page where !member.disabled && !member.user.disabled { staff[member.user.email.lowercased()] = member.user.id }
                guard page.count == 500 else { return staff }
                after = page.last?.user.id
            }
        }
    }
}

/// Query parameters of the relations lists.
struct RelationsQuery {
    let request: Request
    let context: KringRequestContext

    func text(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
    }

    func uuid(_ name: String) throws -> UUID? {
        guard let raw = text(name) else { return nil }
        guard let id = UUID(uuidString: raw) else {
            throw Problem.badRequest("\(name) must be an id.", errors: [FieldError(field: name, message: "Not an id.")])
        }
        return id
    }

    /// A staff user: `me` or an id.
    func staff(_ name: String) throws -> UUID? {
        if text(name) == "me" {
            guard let me = context.identity?.userID else { throw Problem.badRequest("\(name)=me needs a staff login.") }
            return me
        }
        return try uuid(name)
    }

    func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ type: E.Type) throws -> E? where E.RawValue == String {
        guard let raw = text(name) else { return nil }
        guard let value = E(rawValue: raw) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw Problem.badRequest("\(name) must be one of \(allowed).", errors: [FieldError(field: name, message: "Use one of \(allowed).")])
        }
        return value
    }

    func date(_ name: String) throws -> CalendarDate? {
        guard let raw = text(name) else { return nil }
        guard let date = CalendarDate(raw) else { throw Problem.badRequest("\(name) must be a date (YYYY-MM-DD).") }
        return date
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let raw = text(name) else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw Problem.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }

    /// `If-Match: "3"`, when sent.
    func expectedVersion() throws -> Int? {
        guard let ifMatch = request.headers[.ifMatch] else { return nil }
        guard let version = Int(ifMatch.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
            throw Problem.badRequest("If-Match must be the ETag you read, e.g. \"3\".")
        }
        return version
    }
}

/// Keyset cursors `<YYYY-MM-DD>_<uuid>` for lists ordered by a day and an id.
enum DayCursor {
    static func encode(_ day: CalendarDate, _ id: UUID) -> String { "\(day)_\(id.uuidString.lowercased())" }

    static func decode(_ raw: String?) throws -> (CalendarDate, UUID)? {
        guard let raw else { return nil }
        let parts = raw.split(separator: "_")
        guard parts.count == 2, let day = CalendarDate(String(parts[0])), let id = UUID(uuidString: String(parts[1])) else {
            throw Problem.badRequest("after must be the next_after of the previous page.")
        }
        return (day, id)
    }
}

/// The import routes: the CSV is the body, small enough (hand-kept lists) to import while the client waits.
/// `?dry_run=true` reports without changing; `?mapping=` is a JSON column mapping, URL-encoded.
struct RelationImportRoute {
    let services: AppServices
    let kind: RelationImport.Kind

    func handle(_ request: Request, _ context: KringRequestContext) async throws -> RelationImportReport {
        let (principal, tenant) = try context.requireTenant(.relationsWrite)
        let query = RelationsQuery(request: request, context: context)
        var dryRun = false
        if let raw = query.text("dry_run") {
            switch raw.lowercased() {
            case "true", "1", "yes": dryRun = true
            case "false", "0", "no": dryRun = false
            default: throw Problem.validation([FieldError(field: "dry_run", message: "Use true or false.")])
            }
        }
        var mapping: RelationImportMapping?
        if let raw = query.text("mapping") {
            try NULGuard.checkJSON(raw.utf8, field: "mapping")
            do {
                mapping = try JSONDecoder().decode(RelationImportMapping.self, from: Data(raw.utf8))
            } catch {
                throw Problem.validation([
                    FieldError(field: "mapping", message: "Not a valid column mapping (see Deploy/mappings/\(kind.rawValue)-default.json).")
                ])
            }
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: services.settings.maxImportBytes)
        } catch {
            throw Problem.tooLarge("An import file may be at most \(services.settings.maxImportBytes) bytes.")
        }
        let staff = try await services.staffByEmail(tenant)
        let importer = RelationImport(kind: kind, mapping: mapping, dryRun: dryRun)
        return try await importer.run(
            Array(buffer.readableBytesView), staff: staff, by: AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID),
            now: services.now(), db: services.db, tenant: tenant)
    }
}
