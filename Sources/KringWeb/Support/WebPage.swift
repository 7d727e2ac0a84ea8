import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringServer

/// The frame around every page: who is signed in where, the navigation their role may use, the search box.
struct Chrome: Sendable {
    struct NavItem: Sendable {
        let label: String
        let href: String
        let current: Bool
        /// A count that asks for attention (reminders that fell due), with its words for a screen reader.
        var badge: String? = nil
        var badgeLabel: String? = nil
    }

    let title: String
    let library: String?
    let userName: String?
    let csrf: String
    let nav: [NavItem]
    let query: String
    let notice: String?
    let signedIn: Bool
    let canSearch: Bool

    /// The frame of a page for someone not signed in: no navigation, no search.
    static func signedOut(_ title: String, csrf: String) -> Chrome {
        Chrome(title: title, library: nil, userName: nil, csrf: csrf, nav: [], query: "", notice: nil, signedIn: false, canSearch: false)
    }
}

/// One signed-in person at the screen: their principal, library and session.
struct Staff: Sendable {
    let principal: Principal
    let session: BrowserSession
    let tenant: Tenant?
    let dueReminders: Int

    init(_ context: KringRequestContext) throws {
        guard let principal = context.identity, let session = context.browserSession, principal.userID != nil else {
            throw Problem.unauthorized()
        }
        self.principal = principal
        self.session = session
        self.tenant = principal.tenant
        self.dueReminders = context.dueReminders ?? 0
    }

    func may(_ permission: Permission) -> Bool { principal.allows(permission) }

    /// The navigation this role may use; `area` marks the current one.
    func chrome(_ title: String, area: String?, query: String = "", notice: String? = nil) -> Chrome {
        var nav: [Chrome.NavItem] = []
        func add(_ label: String, _ href: String, _ permission: Permission) {
            if may(permission) { nav.append(.init(label: label, href: href, current: area == href)) }
        }
        if tenant != nil {
            nav.append(.init(label: "Overzicht", href: "/", current: area == "/"))
            add("Klanten", "/klanten", .customersRead)
            add("Activiteiten", "/activiteiten", .activitiesRead)
            add("Klachten", "/klachten", .complaintsRead)
            add("Relaties", "/relaties", .relationsRead)
            if may(.relationsRead) {
                nav.append(
                    .init(
                        label: "Taken", href: "/taken", current: area == "/taken",
                        badge: dueReminders > 0 ? Dutch.number(dueReminders) : nil,
                        badgeLabel: dueReminders == 1 ? "1 herinnering" : "\(Dutch.number(dueReminders)) herinneringen"))
            }
            add("Campagnes", "/campagnes", .campaignsRead)
            add("Inzicht", "/inzicht", .reportsRead)
            add("Beheer", "/beheer", .usersRead)
        } else {
            add("Platform", "/platform", .tenantsManage)
        }
        nav.append(.init(label: "Mijn account", href: "/account", current: area == "/account"))
        nav.append(.init(label: "Andere bibliotheek", href: "/bibliotheek-wisselen", current: area == "/bibliotheek-wisselen"))
        return Chrome(
            title: title, library: tenant?.name ?? (tenant == nil ? "Probiblio" : nil), userName: session.displayName,
            csrf: session.csrfToken, nav: nav, query: query, notice: notice, signedIn: true,
            canSearch: may(.customersRead))
    }
}

/// Building HTML responses.
enum WebResponse {
    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A value as JSON for the page's script (sorted keys, slashes as they are), not cached.
    static func json<T: Encodable>(_ value: T) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: try jsonText(value))))
    }

    /// A value as JSON text, e.g. for a data attribute the page's script reads.
    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Whether the page's script asked for JSON rather than the page (the same form posts either way).
    static func wantsJSON(_ request: Request) -> Bool {
        request.headers[.accept]?.contains("application/json") ?? false
    }

    /// Post/Redirect/Get: 303 to `location`.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

/// What went wrong in a form, per field, for the summary at the top and the message at each field.
struct FormErrors: Sendable, Error {
    struct Item: Sendable {
        let field: String
        let message: String
    }

    var items: [Item] = []
    var any: Bool { !items.isEmpty }

    mutating func add(_ field: String, _ message: String) { items.append(Item(field: field, message: message)) }
    func message(_ field: String) -> String? { items.first { $0.field == field }?.message }
}

/// One line of a record's details: "Adres", "2011 AB Haarlem".
struct Fact: Sendable {
    let label: String
    let value: String
}

/// One option of a select or a radio group.
struct Choice: Sendable {
    let value: String
    let label: String
    let selected: Bool
}

extension UUID {
    var lower: String { uuidString.lowercased() }
}
