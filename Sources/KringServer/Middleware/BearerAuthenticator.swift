import Hummingbird
import HummingbirdAuth
import KringAuth
import KringCore

/// Reads `Authorization: Bearer <token>` (an access JWT or an API key) and sets the context's principal.
///
/// A request without the header goes on unauthenticated (routes that need a principal answer 401);
/// a request with a bad credential stops here with 401.
struct BearerAuthenticator: AuthenticatorMiddleware {
    typealias Context = KringRequestContext
    let authentication: Authentication

    func authenticate(request: Request, context: Context) async throws -> Principal? {
        guard let header = request.headers[.authorization] else { return nil }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Problem.unauthorized("Use 'Authorization: Bearer <token>'.")
        }
        // Spaces and tabs around the token are dropped (by hand: Foundation's trimming goes through NSString, a
        // measurable part of every request's time).
        let token = String(header.utf8.dropFirst(7).trimming { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) ?? ""
        return try await authentication.authenticate(bearer: token, address: context.clientAddress)
    }
}

extension Substring.UTF8View {
    /// The view without the leading and trailing bytes that match.
    fileprivate func trimming(_ drop: (UInt8) -> Bool) -> Substring.UTF8View {
        var view = self
        while let first = view.first, drop(first) { view = view.dropFirst() }
        while let last = view.last, drop(last) { view = view.dropLast() }
        return view
    }
}
