import Foundation
import Hummingbird
import KringCore
import KringDatabase
import Logging
import PostgresNIO

/// Turns every error into `application/problem+json`, stamps the request id, and logs one line per request.
///
/// Logs carry the method, route pattern, status and duration: never bodies, query strings, tokens or personal data.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = KringRequestContext
    let trustForwardedFor: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let given = request.headers[.init("X-Request-ID")!], given.count <= 64,
            given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
        {
            context.requestID = given
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        if trustForwardedFor, let forwarded = request.headers[.init("X-Forwarded-For")!],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            context.clientAddress = last
        }
        let start = ContinuousClock.now
        var response: Response
        do {
            try NULGuard.checkQuery(request.uri.queryParameters)
            if request.uri.path.contains("%00") { throw NULGuard.problem(field: "(path)") }
            response = try await next(request, context)
        } catch {
            response = Self.response(for: error, logger: context.logger)
        }
        response.headers[.init("X-Request-ID")!] = context.requestID
        let elapsed = ContinuousClock.now - start
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "route": .string(context.endpointPath ?? "unmatched"),
                "status": .stringConvertible(response.status.code),
                "ms": .stringConvertible(
                    Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000),
            ])
        return response
    }

    static func response(for error: any Error, logger: Logger) -> Response {
        let problem: Problem
        switch error {
        case let convertible as any ProblemConvertible:
            problem = convertible.problem
            if problem.status >= 500 {
                // These two describe themselves without personal data (a column and what is wrong with it; why the
                // pool gave no connection); of anything else only the type is logged.
                let description = (error as? UnreadableColumn)?.description ?? (error as? DatabaseUnavailable)?.description
                logger.error("request failed", metadata: ["error": "\(type(of: error))", "reason": "\(description ?? "-")"])
            }
        case let http as HTTPError:
            problem =
                switch http.status {
                case .notFound: .notFound("No route matches this path.")
                case .contentTooLarge: .tooLarge(http.body ?? "The request body is too large.")
                case .methodNotAllowed: Problem(status: 405, type: "https://kring.nl/problems/method-not-allowed", title: "Method not allowed")
                case .unauthorized: .unauthorized()
                default: Problem(status: Int(http.status.code), type: "about:blank", title: http.status.reasonPhrase, detail: http.body)
                }
        case let psql as PSQLError where isConnectionLoss(psql):
            // The database went away under the request (stopped, restarted, network): try again, not a bug.
            logger.warning("database unreachable", metadata: ["error": "\(Migrator.describe(psql))"])
            problem = DatabaseUnavailable(reason: "connection lost").problem
        case let psql as PSQLError:
            problem = databaseProblem(psql, logger: logger)
        default:
            logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            problem = .internalError()
        }
        return problemResponse(problem)
    }

    /// A connection lost or refused, or the server shutting down (class 57P: admin or crash shutdown, cannot connect
    /// now; class 08: connection exceptions).
    static func isConnectionLoss(_ psql: PSQLError) -> Bool {
        if [.connectionError, .serverClosedConnection, .clientClosedConnection].contains(psql.code) { return true }
        let state = psql.serverInfo?[.sqlState] ?? ""
        return state.hasPrefix("57P") || state.hasPrefix("08")
    }

    /// Data exceptions (class 22) that input causes: too long, out of range, badly formed numbers, dates and text,
    /// characters no text can hold. The rest of the class (division by zero, say) is a fault of the server's SQL.
    static let clientDataExceptions: Set<String> = [
        "22001", "22003", "22007", "22008", "22009", "22015", "22021", "22023", "22025", "2201B", "22P02", "22P05",
    ]

    /// Errors the client's input caused (a value the column cannot hold, a missing or unknown reference, a broken rule)
    /// are 4xx problems that say which kind, never the SQL or the value; only the rest is a 500.
    /// The log has the SQLSTATE and the constraint's name, not the server's message: it may quote the value.
    static func databaseProblem(_ psql: PSQLError, logger: Logger) -> Problem {
        let state = psql.serverInfo?[.sqlState] ?? "-"
        let clientProblem: Problem? =
            switch state {
            case "23505": .conflict("This conflicts with an existing record.")
            case "23503" where psql.serverInfo?[.message]?.hasPrefix("update or delete") == true:
                .conflict("Other records still refer to this one.")
            case "23503": .validation([], detail: "The request refers to a record that does not exist in this library.")
            case "23502": .validation([], detail: "A required value is missing.")
            case "23514": .validation([], detail: "A value breaks one of the rules for this record.")
            case _ where clientDataExceptions.contains(state):
                .validation([], detail: "A value is not valid here: badly formed, too long or out of range.")
            default: nil
            }
        if let clientProblem {
            logger.warning(
                "database refused client input",
                metadata: [
                    "sqlstate": "\(state)", "table": "\(psql.serverInfo?[.tableName] ?? "-")",
                    "constraint": "\(psql.serverInfo?[.constraintName] ?? "-")",
                ])
            return clientProblem
        }
        // The server's message and code only: PSQLError's full description carries the query's bind values.
        logger.error("database error", metadata: ["sqlstate": "\(state)", "message": "\(Migrator.describe(psql))"])
        return .internalError()
    }

    static func problemResponse(_ problem: Problem) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = (try? JSON.encoder.encode(problem)) ?? Data()
        return Response(status: .init(code: problem.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
