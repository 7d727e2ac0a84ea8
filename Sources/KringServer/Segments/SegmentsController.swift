import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase

extension Segment: ResponseEncodable {}
extension SegmentPreview: ResponseEncodable {}
extension SegmentCount: ResponseEncodable {}

/// Segments: preview an unsaved rule, save rules as versioned segments, count a saved segment.
///
/// Rule trees that are not even the right shape (a node that is no object, a condition without `op`) answer 400
/// like any malformed body; well-formed trees naming an unknown field, an operator the field does not take or a
/// value of the wrong type answer 422, the project's status for invalid input. Both carry the node's JSON path in
/// `errors[].field`, e.g. `rule.all[2].value`.
struct SegmentsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post("preview") { request, context in try await preview(request, context) }
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await create(request, context) }
        group.get(":id") { request, context in try await read(request, context) }
        group.put(":id") { request, context in try await replace(request, context) }
        group.get(":id/count") { _, context in try await count(context) }
    }

    struct PreviewBody: Decodable {
        let rule: SegmentRule
        /// b2c (customers, the default) or b2b (contacts at organisations).
        let subject: String?
    }

    func preview(_ request: Request, _ context: KringRequestContext) async throws -> SegmentPreview {
        let (principal, _) = try context.requireTenant(.segmentsRead)
        let body = try await request.decodeJSON(PreviewBody.self, limit: services.settings.maxBodyBytes)
        guard let subject = Segment.Subject(rawValue: body.subject ?? "b2c") else {
            throw Problem.validation(
                [FieldError(field: "subject", message: Segment.Subject.choices)],
                detail: "The segment has invalid fields or rules.")
        }
        // Whom a rule selects is shown only to those who build segments (see PermissionMatrix); contacts only to those
        // who may also read business relations.
        let withSample = principal.allows(.segmentsWrite) && (subject == .b2c || principal.allows(.relationsRead))
        return try await services.inTenant(.segmentsRead, context) { tx, actor, now in
            try await Segments.preview(body.rule, subject: subject, withSample: withSample, by: actor, now: now, in: tx)
        }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Segment> {
        let page = try Page(request)
        var after: UUID?
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a segment id.") }
            after = id
        }
        let items = try await services.inTenant(.segmentsRead, context) { tx, _, _ in try await Segments.list(after: after, limit: page.limit, in: tx)
        }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Segment> {
        _ = try context.requireTenant(.segmentsWrite)
        let draft = try await request.decodeJSON(SegmentDraft.self, limit: services.settings.maxBodyBytes)
        let segment = try await services.inTenant(.segmentsWrite, context) { tx, actor, now in
            try await Segments.create(draft, by: actor, now: now, in: tx)
        }
        var response = versioned(segment, status: .created)
        response.headers[.location] = "/api/v1/segments/\(segment.id.uuidString.lowercased())"
        return response
    }

    /// The current version, or `?version=N` as it was saved.
    func read(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Segment> {
        let id = try segmentID(context)
        var version: Int?
        if let raw = request.uri.queryParameters["version"] {
            guard let value = Int(String(raw)), value >= 1 else { throw Problem.badRequest("version must be a whole number from 1.") }
            version = value
        }
        let segment = try await services.inTenant(.segmentsRead, context, record: id, "segment", notFound: SegmentError.notFound) { tx, _, _ in
            if let version { try await Segments.find(id: id, version: version, in: tx) } else { try await Segments.find(id: id, in: tx) }
        }
        return versioned(segment)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Segment> {
        let id = try segmentID(context)
        _ = try context.requireTenant(.segmentsWrite)
        let draft = try await request.decodeJSON(SegmentDraft.self, limit: services.settings.maxBodyBytes)
        let expected: Int
        if let ifMatch = request.headers[.ifMatch] {
            guard let version = Int(ifMatch.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
                throw Problem.badRequest("If-Match must be the ETag of the segment you read, e.g. \"3\".")
            }
            expected = version
        } else if let version = draft.version {
            expected = version
        } else {
            throw SegmentError.versionRequired
        }
        let segment = try await services.inTenant(.segmentsWrite, context, record: id, "segment", notFound: SegmentError.notFound) { tx, actor, now in
            try await Segments.replace(id: id, with: draft, expectedVersion: expected, by: actor, now: now, in: tx)
        }
        return versioned(segment)
    }

    func count(_ context: KringRequestContext) async throws -> SegmentCount {
        let id = try segmentID(context)
        return try await services.inTenant(.segmentsRead, context, record: id, "segment", notFound: SegmentError.notFound) { tx, _, now in
            try await Segments.count(id: id, now: now, in: tx)
        }
    }

    // MARK: Helpers

    private func segmentID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", SegmentError.notFound)
    }

    private func versioned(_ segment: Segment, status: HTTPResponse.Status = .ok) -> EditedResponse<Segment> {
        EditedResponse(status: status, headers: [.eTag: "\"\(segment.version)\"", .cacheControl: "no-store"], response: segment)
    }
}
