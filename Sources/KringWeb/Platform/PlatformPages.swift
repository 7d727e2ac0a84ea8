import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringInsight
import KringServer

/// Probiblio's console (platform administrators): the libraries with their status and figures, provisioning one with
/// its first administrator invited by mail, suspending and resuming with a reason, the platform's health, the figures
/// of all libraries side by side, and the Mosaic deliveries.
///
/// Every read runs as `kring_console` (`Database.withConsole`), a database role that may read the libraries' daily
/// figures and the platform's own records about them and nothing of a library's schema, so no page here can show a
/// person. A figure computed over fewer than 10 people is shown as "< 10".
struct PlatformPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("platform") { _, context in try await libraries(context, form: nil, errors: FormErrors()) }
        router.post("platform/bibliotheken") { request, context in try await provision(request, context) }
        router.get("platform/bibliotheken/:slug") { request, context in
            try await library(context, reasonError: nil, notice: request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] })
        }
        router.post("platform/bibliotheken/:slug/status") { request, context in try await changeStatus(request, context) }
        router.get("platform/cijfers") { request, context in try await figures(request, context, csv: false) }
        router.get("platform/cijfers.csv") { request, context in try await figures(request, context, csv: true) }
        router.get("platform/gezondheid") { _, context in try await health(context) }
        router.get("platform/mosaic") { _, context in try await mosaic(context, report: nil, error: nil) }
        router.post("platform/mosaic") { request, context in try await loadMosaic(request, context) }
    }

    /// Figures over fewer people than this are not shown.
    static let smallestGroup = 10

    static let tabs = [
        ("Bibliotheken", "/platform"), ("Cijfers", "/platform/cijfers"), ("Gezondheid", "/platform/gezondheid"), ("Mosaic", "/platform/mosaic"),
    ]

    static func tabs(_ current: String) -> [AdminPages.Tab] {
        tabs.map { AdminPages.Tab(label: $0.0, href: $0.1, current: $0.1 == current) }
    }

    private func staff(_ context: KringRequestContext) throws -> (Staff, Principal) {
        let principal = try context.require(.tenantsManage)
        return (try Staff(context), principal)
    }

    // MARK: Figures as the console shows them

    /// The latest day's figures of each library.
    struct Latest {
        var day: [UUID: CalendarDate] = [:]
        var values: [UUID: [String: LibraryFigures.Value]] = [:]
    }

    static func latestFigures(in tx: PlatformTransaction) async throws -> Latest {
        var latest = Latest()
        let rows = try await tx.query(
            """
            SELECT DISTINCT ON (tenant_id, code) tenant_id, code, day::text, value::float8, coalesce(people, 0)
            FROM library_figures ORDER BY tenant_id, code, day DESC
            """)
        for try await (tenant, code, day, value, people) in rows.decode((UUID, String, String, Double?, Int).self) {
            latest.values[tenant, default: [:]][code] = LibraryFigures.Value(value: value, people: people)
            if let date = CalendarDate(day), latest.day[tenant].map({ date > $0 }) ?? true { latest.day[tenant] = date }
        }
        return latest
    }

    /// A figure for the console: "< 10" over fewer than 10 people, "–" when there is none.
    static func shown(_ value: LibraryFigures.Value?, unit: LibraryFigure.Unit) -> String {
        guard let value else { return "–" }
        if value.people < smallestGroup { return "< \(smallestGroup)" }
        return formatted(value.value, unit: unit)
    }

    static func formatted(_ number: Double?, unit: LibraryFigure.Unit) -> String {
        guard let number else { return "–" }
        switch unit {
        case .count: return Dutch.number(Int(number.rounded()))
        case .percent: return "\(Dutch.decimal(number))%"
        case .decimal, .days: return Dutch.decimal(number)
        case .euros: return Dutch.amount(cents: Int((number * 100).rounded()))
        }
    }

    /// The province's figure from the libraries': counts and amounts add up, shares and averages are weighed by the
    /// people each is computed over; a median cannot be combined.
    static func province(_ values: [LibraryFigures.Value], unit: LibraryFigure.Unit) -> LibraryFigures.Value? {
        let people = values.reduce(0) { $0 + $1.people }
        let defined = values.compactMap { value in value.value.map { ($0, value.people) } }
        switch unit {
        case .count, .euros:
            return LibraryFigures.Value(value: defined.isEmpty ? nil : defined.reduce(0) { $0 + $1.0 }, people: people)
        case .percent, .decimal:
            let weight = defined.reduce(0) { $0 + $1.1 }
            return LibraryFigures.Value(value: weight > 0 ? defined.reduce(0) { $0 + $1.0 * Double($1.1) } / Double(weight) : nil, people: people)
        case .days:
            return nil
        }
    }

    // MARK: Bibliotheken

    struct LibraryRow: Sendable {
        let name: String
        let slug: String
        let href: String
        let status: String
        let suspended: Bool
        let members: String
        let lastImport: String
        let migrations: String
        let migrationsBehind: Bool
        let mails: String
        let figuresDay: String
    }

    struct LibrariesModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let rows: [LibraryRow]
        let none: Bool
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let slug: String
        let name: String
        let adminEmail: String
        let adminName: String
    }

    struct LibraryFacts: Sendable {
        let id: UUID
        let slug: String
        let name: String
        let status: String
        let createdAt: Date
        let migrations: Int
        let lastImport: Date?
    }

    static func libraryFacts(in tx: PlatformTransaction) async throws -> [LibraryFacts] {
        var facts: [LibraryFacts] = []
        let rows = try await tx.query(
            """
            SELECT t.id, t.slug, t.name, t.status, t.created_at,
                   (SELECT count(*) FROM schema_migrations m WHERE m.schema_name = 't_' || replace(t.slug, '-', '_'))::int8,
                   (SELECT max(j.finished_at) FROM jobs j WHERE j.tenant_id = t.id AND j.kind = 'b2c.import' AND j.status = 'done')
            FROM tenants t ORDER BY t.name
            """)
        for try await (id, slug, name, status, created, migrations, lastImport) in rows.decode((UUID, String, String, String, Date, Int, Date?).self)
        {
            facts.append(
                LibraryFacts(id: id, slug: slug, name: name, status: status, createdAt: created, migrations: migrations, lastImport: lastImport))
        }
        return facts
    }

    func libraries(_ context: KringRequestContext, form: FormBody?, errors: FormErrors, notice: String? = nil) async throws -> Response {
        let (staff, _) = try staff(context)
        let (facts, latest) = try await services.db.withConsole { tx in (try await Self.libraryFacts(in: tx), try await Self.latestFigures(in: tx)) }
        let known = services.provisioner.migrator.migrations.tenant.count
        let rows = facts.map { library in
            let values = latest.values[library.id] ?? [:]
            return LibraryRow(
                name: library.name, slug: library.slug, href: "/platform/bibliotheken/\(library.slug)",
                status: library.status == "suspended" ? "Geschorst" : "Actief", suspended: library.status == "suspended",
                members: Self.shown(values["members"], unit: .count), lastImport: library.lastImport.map { Dutch.date($0) } ?? "nog geen",
                migrations: library.migrations >= known ? "alle \(known)" : "\(library.migrations) van \(known)",
                migrationsBehind: library.migrations < known, mails: Self.shown(values["mails_sent_30d"], unit: .count),
                figuresDay: latest.day[library.id].map { Dutch.date($0) } ?? "nog geen")
        }
        let model = LibrariesModel(
            chrome: staff.chrome("Bibliotheken", area: "/platform", notice: notice), tabs: Self.tabs("/platform"), rows: rows, none: rows.isEmpty,
            errors: errors.items, hasErrors: errors.any, slug: form?.value("slug") ?? "", name: form?.value("name") ?? "",
            adminEmail: form?.value("admin_email") ?? "", adminName: form?.value("admin_name") ?? "")
        return WebResponse.html(try templates.render("platform/libraries", model), status: errors.any ? .unprocessableContent : .ok)
    }

    func provision(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (_, principal) = try staff(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        var errors = FormErrors()
        let slug = TenantSlug(form.value("slug")?.trimmed() ?? "")
        if slug == nil {
            errors.add("slug", "Vul een korte naam in van 2 tot 39 kleine letters, cijfers of streepjes, beginnend met een letter.")
        }
        let name = form.value("name")?.trimmed() ?? ""
        if name.isEmpty || name.count > 200 { errors.add("name", "Vul de naam van de bibliotheek in (hoogstens 200 tekens).") }
        let email = EmailAddress(form.value("admin_email")?.trimmed() ?? "")
        if email == nil { errors.add("admin_email", "Vul het e-mailadres van de eerste beheerder in.") }
        guard !errors.any, let slug, let email else { return try await libraries(context, form: form, errors: errors) }
        do {
            _ = try await LibraryAdministration.provision(
                slug: slug, name: name, adminEmail: email, adminName: form.value("admin_name")?.trimmed() ?? "", actor: principal.userID,
                ip: context.clientAddress, services: services)
        } catch TenantError.duplicateSlug {
            errors.add("slug", "Er is al een bibliotheek met deze korte naam.")
            return try await libraries(context, form: form, errors: errors)
        }
        return WebResponse.redirect("/platform/bibliotheken/\(slug.value)?gedaan=aangesloten")
    }

    // MARK: One library

    struct Event: Sendable {
        let when: String
        let what: String
        let reason: String
    }

    struct LibraryModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let name: String
        let slug: String
        let suspended: Bool
        let facts: [Fact]
        let statusAction: String
        let reasonError: String?
        let events: [Event]
        let hasEvents: Bool
    }

    static let notices = [
        "aangesloten": "De bibliotheek is aangesloten. De eerste beheerder krijgt een uitnodiging per mail.",
        "geschorst": "De bibliotheek is geschorst.", "hervat": "De bibliotheek is weer actief.",
    ]

    static let eventNames = [
        "tenant.created": "Aangesloten", "tenant.suspended": "Geschorst", "tenant.resumed": "Weer actief", "tenant.renamed": "Naam gewijzigd",
    ]

    func library(
        _ context: KringRequestContext, reasonError: String?, notice: String?, status: HTTPResponse.Status = .ok
    ) async throws
        -> Response
    {
        let (staff, _) = try staff(context)
        guard let slug = context.parameters.get("slug").flatMap(TenantSlug.init) else { throw TenantError.notFound("") }
        let (facts, latest, events, invitations) = try await services.db.withConsole { tx in
            let facts = try await Self.libraryFacts(in: tx).first { $0.slug == slug.value }
            var events: [Event] = []
            var invitations = (sent: 0, waiting: 0, failed: 0)
            if let facts {
                let counts = try await tx.query(
                    """
                    SELECT count(*) FILTER (WHERE status = 'done')::int8, count(*) FILTER (WHERE status = 'queued')::int8,
                           count(*) FILTER (WHERE status = 'failed')::int8
                    FROM jobs WHERE tenant_id = \(facts.id) AND kind = \(StaffInvitations.jobKind)
                    """)
                for try await (sent, waiting, failed) in counts.decode((Int, Int, Int).self) { invitations = (sent, waiting, failed) }
                let rows = try await tx.query(
                    "SELECT at, action, reason FROM tenant_events WHERE tenant_id = \(facts.id) ORDER BY at DESC LIMIT 50")
                for try await (at, action, reason) in rows.decode((Date, String, String).self) {
                    events.append(Event(when: Dutch.dateTime(at), what: Self.eventNames[action] ?? action, reason: reason))
                }
            }
            return (facts, try await Self.latestFigures(in: tx), events, invitations)
        }
        guard let facts else { throw TenantError.notFound("") }
        let values = latest.values[facts.id] ?? [:]
        let suspended = facts.status == "suspended"
        let model = LibraryModel(
            chrome: staff.chrome(facts.name, area: "/platform", notice: notice), tabs: Self.tabs("/platform"), name: facts.name, slug: facts.slug,
            suspended: suspended,
            facts: [
                Fact(label: "Korte naam", value: facts.slug), Fact(label: "Status", value: suspended ? "Geschorst" : "Actief"),
                Fact(label: "Aangesloten op", value: Dutch.date(facts.createdAt)),
                Fact(label: "Leden", value: Self.shown(values["members"], unit: .count)),
                Fact(label: "Mails (30 dagen)", value: Self.shown(values["mails_sent_30d"], unit: .count)),
                Fact(label: "Laatste import", value: facts.lastImport.map { Dutch.dateTime($0) } ?? "nog geen"),
                Fact(label: "Migraties", value: "\(facts.migrations) van \(services.provisioner.migrator.migrations.tenant.count)"),
                Fact(label: "Uitnodigingen per mail", value: Self.invitationText(invitations)),
            ],
            statusAction: "/platform/bibliotheken/\(facts.slug)/status", reasonError: reasonError, events: events, hasEvents: !events.isEmpty)
        return WebResponse.html(try templates.render("platform/library", model), status: status)
    }

    /// "1 verstuurd, 1 wacht op verzending": the staff invitations' mail jobs (the first administrator's among them).
    static func invitationText(_ counts: (sent: Int, waiting: Int, failed: Int)) -> String {
        var parts: [String] = []
        if counts.sent > 0 { parts.append("\(counts.sent) verstuurd") }
        if counts.waiting > 0 { parts.append("\(counts.waiting) \(counts.waiting == 1 ? "wacht" : "wachten") op verzending") }
        if counts.failed > 0 { parts.append("\(counts.failed) niet verstuurd (zie het logboek van de worker)") }
        return parts.isEmpty ? "geen" : parts.joined(separator: ", ")
    }

    func changeStatus(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (_, principal) = try staff(context)
        guard let slug = context.parameters.get("slug").flatMap(TenantSlug.init) else { throw TenantError.notFound("") }
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        guard let status = form.value("status").flatMap(Tenant.Status.init(rawValue:)) else { throw TenantError.notFound("") }
        let reason = form.value("reason")?.trimmed() ?? ""
        guard !reason.isEmpty, reason.count <= 500 else {
            return try await library(
                context, reasonError: "Vul de reden in (hoogstens 500 tekens).", notice: nil, status: .unprocessableContent)
        }
        do {
            _ = try await LibraryAdministration.setStatus(
                status, slug: slug, reason: reason, actor: principal.userID, ip: context.clientAddress, services: services)
        } catch TenantError.notFound {
            throw TenantError.notFound("")
        }
        return WebResponse.redirect("/platform/bibliotheken/\(slug.value)?gedaan=\(status == .suspended ? "geschorst" : "hervat")")
    }

    // MARK: Cijfers

    struct Column: Sendable {
        let name: String
        let definition: String
    }

    struct LibraryFigureRow: Sendable {
        let name: String
        let cells: [String]
    }

    struct GroupChoice: Sendable {
        let label: String
        let href: String
        let current: Bool
    }

    struct FiguresModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let groups: [GroupChoice]
        let group: String
        let columns: [Column]
        let rows: [LibraryFigureRow]
        let province: [String]
        let none: Bool
        let days: String
    }

    /// One group of figures (`?groep=`): a row per library, a column per figure, the province below; the CSV holds every
    /// figure. Rows, not columns, grow with the number of libraries.
    func figures(_ request: Request, _ context: KringRequestContext, csv: Bool) async throws -> Response {
        let (staff, _) = try staff(context)
        let (facts, latest) = try await services.db.withConsole { tx in (try await Self.libraryFacts(in: tx), try await Self.latestFigures(in: tx)) }
        let measured = facts.filter { latest.values[$0.id] != nil }
        func row(_ figures: [LibraryFigure]) -> (rows: [LibraryFigureRow], province: [String]) {
            let rows = measured.map { library in
                LibraryFigureRow(name: library.name, cells: figures.map { Self.shown(latest.values[library.id]?[$0.code], unit: $0.unit) })
            }
            let province = figures.map { figure in
                Self.shown(Self.province(measured.compactMap { latest.values[$0.id]?[figure.code] }, unit: figure.unit), unit: figure.unit)
            }
            return (rows, province)
        }
        if csv {
            let all = LibraryFigures.catalogue
            let (rows, province) = row(all)
            var file = CSVDownload()
            file.row(["bibliotheek"] + all.map(\.code))
            for line in rows { file.row([line.name] + line.cells) }
            file.row(["provincie"] + province)
            return file.response(filename: "bibliotheken-cijfers.csv")
        }
        let groups = LibraryFigures.groups
        let asked = request.uri.queryParameters["groep"].map(String.init)
        let group = groups.first { $0 == asked } ?? groups[0]
        let figures = LibraryFigures.catalogue.filter { $0.group == group }
        let (rows, province) = row(figures)
        let days = Set(measured.compactMap { latest.day[$0.id] }).sorted()
        let model = FiguresModel(
            chrome: staff.chrome("Cijfers", area: "/platform"), tabs: Self.tabs("/platform/cijfers"),
            groups: groups.map {
                GroupChoice(
                    label: $0, href: "/platform/cijfers?groep=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")",
                    current: $0 == group)
            },
            group: group, columns: figures.map { Column(name: $0.name, definition: $0.definition) }, rows: rows, province: province,
            none: measured.isEmpty, days: days.isEmpty ? "" : "Cijfers van \(days.map { Dutch.date($0) }.joined(separator: " en "))")
        return WebResponse.html(try templates.render("platform/figures", model))
    }

    // MARK: Gezondheid

    struct HealthRow: Sendable {
        let name: String
        let migrations: String
        let behind: Bool
        let size: String
        let sentHour: String
    }

    struct QueueRow: Sendable {
        let kind: String
        let waiting: String
        let running: String
        let failed: String
    }

    struct HealthModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let libraries: [HealthRow]
        let queue: [QueueRow]
        let queueEmpty: Bool
        let platformMigrations: String
        let databaseSize: String
        let sentHour: String
        let sentPerMinute: String
        let busiestMinute: String
        let sendsLine: String?
    }

    func health(_ context: KringRequestContext) async throws -> Response {
        let (staff, _) = try staff(context)
        let now = services.now()
        let known = services.provisioner.migrator.migrations
        let (facts, sizes, queue, platform, total, sends) = try await services.db.withConsole { tx in
            let facts = try await Self.libraryFacts(in: tx)
            var sizes: [String: Int] = [:]
            let sizeRows = try await tx.query(
                """
                SELECT n.nspname, coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8
                FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm')
                WHERE n.nspname LIKE 't\\_%' GROUP BY n.nspname
                """)
            for try await (schema, bytes) in sizeRows.decode((String, Int).self) { sizes[schema] = bytes }
            var queue: [QueueRow] = []
            let queueRows = try await tx.query(
                """
                SELECT kind,
                       count(*) FILTER (WHERE status = 'queued' AND (locked_until IS NULL OR locked_until < \(now)))::int8,
                       count(*) FILTER (WHERE status = 'queued' AND locked_until >= \(now))::int8,
                       count(*) FILTER (WHERE status = 'failed' AND finished_at > \(now) - interval '1 day')::int8
                FROM jobs GROUP BY kind ORDER BY kind
                """)
            for try await (kind, waiting, running, failed) in queueRows.decode((String, Int, Int, Int).self) {
                queue.append(QueueRow(kind: kind, waiting: Dutch.number(waiting), running: Dutch.number(running), failed: Dutch.number(failed)))
            }
            let platform =
                try await tx.query("SELECT count(*)::int8 FROM schema_migrations WHERE schema_name = 'platform'").decode(Int.self)
                .first { _ in true } ?? 0
            let total = try await tx.query("SELECT pg_database_size(current_database())::int8").decode(Int.self).first { _ in true } ?? 0
            return (facts, sizes, queue, platform, total, try await Self.sendsLastHour(before: now, in: tx))
        }
        let rows = facts.map { library in
            HealthRow(
                name: library.name, migrations: "\(library.migrations) van \(known.tenant.count)", behind: library.migrations < known.tenant.count,
                size: Self.megabytes(sizes[TenantSlug(library.slug)?.schema.name ?? ""] ?? 0),
                sentHour: Dutch.number(sends.perLibrary[library.id] ?? 0))
        }
        let sentHour = sends.perMinute.reduce(0, +)
        let busiest = sends.perMinute.indices.max { sends.perMinute[$0] < sends.perMinute[$1] }
        let model = HealthModel(
            chrome: staff.chrome("Gezondheid", area: "/platform"), tabs: Self.tabs("/platform/gezondheid"), libraries: rows, queue: queue,
            queueEmpty: queue.isEmpty, platformMigrations: "\(platform) van \(known.platform.count)", databaseSize: Self.megabytes(total),
            sentHour: Dutch.number(sentHour), sentPerMinute: Dutch.decimal(Double(sentHour) / 60),
            busiestMinute: busiest.map { index in
                sentHour == 0 ? "" : "\(Dutch.number(sends.perMinute[index])) om \(Dutch.time(sends.start.addingTimeInterval(Double(index) * 60)))"
            } ?? "",
            sendsLine: sentHour == 0
                ? nil : Charts.sparkline(sends.perMinute.map(Double.init), title: "Verzonden mails per minuut, het afgelopen uur"))
        return WebResponse.html(try templates.render("platform/health", model))
    }

    /// The mails sent in the 60 whole minutes before `now`'s minute: per minute (oldest first) and per library.
    static func sendsLastHour(
        before now: Date, in tx: PlatformTransaction
    ) async throws -> (start: Date, perMinute: [Int], perLibrary: [UUID: Int]) {
        let end = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
        let start = end.addingTimeInterval(-3600)
        var perMinute = Array(repeating: 0, count: 60)
        var perLibrary: [UUID: Int] = [:]
        let rows = try await tx.query("SELECT tenant_id, minute, sent::int8 FROM send_counts WHERE minute >= \(start) AND minute < \(end)")
        for try await (tenant, minute, sent) in rows.decode((UUID, Date, Int).self) {
            let index = Int(minute.timeIntervalSince(start) / 60)
            if perMinute.indices.contains(index) { perMinute[index] += sent }
            perLibrary[tenant, default: 0] += sent
        }
        return (start, perMinute, perLibrary)
    }

    static func megabytes(_ bytes: Int) -> String {
        "\(Dutch.decimal(Double(bytes) / 1_048_576)) MB"
    }

    // MARK: Mosaic

    struct DeliveryRow: Sendable {
        let label: String
        let loaded: String
        let postcodes: String
        let households: String
        let current: Bool
    }

    struct ReportLine: Sendable {
        let place: String
        let reason: String
    }

    struct MosaicModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let deliveries: [DeliveryRow]
        let none: Bool
        let error: String?
        let outcome: String?
        let problems: [ReportLine]
        let hasProblems: Bool
        let label: String
    }

    func mosaic(_ context: KringRequestContext, report: MosaicImportReport?, error: String?, label: String = "") async throws -> Response {
        let (staff, _) = try staff(context)
        let deliveries = try await services.db.withConsole { tx in
            var rows: [DeliveryRow] = []
            let found = try await tx.query(
                "SELECT label, loaded_at, postcodes, households, current FROM reference.mosaic_deliveries ORDER BY loaded_at DESC LIMIT 20")
            for try await (label, loaded, postcodes, households, current) in found.decode((String, Date, Int, Int, Bool).self) {
                rows.append(
                    DeliveryRow(
                        label: label, loaded: Dutch.dateTime(loaded), postcodes: Dutch.number(postcodes), households: Dutch.number(households),
                        current: current))
            }
            return rows
        }
        var outcome: String?
        if let report {
            outcome =
                report.unchanged
                ? "Deze bestanden zijn al de huidige levering; er is niets veranderd."
                : "\(report.dryRun ? "Proef: zou laden" : "Geladen"): \(report.segments) segmenten, \(report.subsegments) subsegmenten, "
                    + "\(Dutch.number(report.postcodes)) postcodes, \(Dutch.number(report.households)) huishoudens, "
                    + "\(Dutch.number(report.rejected)) \(report.rejected == 1 ? "afgekeurde regel" : "afgekeurde regels")."
        }
        let problems = (report?.errors ?? []).prefix(100).map { error in
            ReportLine(
                place: "\(error.file == "schema" ? "Schema" : "Gebieden"), regel \(error.line)\(error.column.map { ", kolom \($0)" } ?? "")",
                reason: Self.dutchMosaicReason(error.reason))
        }
        let model = MosaicModel(
            chrome: staff.chrome("Mosaic", area: "/platform"), tabs: Self.tabs("/platform/mosaic"), deliveries: deliveries, none: deliveries.isEmpty,
            error: error, outcome: outcome, problems: Array(problems), hasProblems: !problems.isEmpty, label: label)
        return WebResponse.html(try templates.render("platform/mosaic", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func loadMosaic(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (_, principal) = try staff(context)
        var request = request
        let buffer = try await request.collectBody(upTo: services.settings.maxImportBytes)
        guard let form = MultipartForm(buffer: buffer, contentType: request.headers[.contentType] ?? "") else {
            return try await mosaic(context, report: nil, error: "Kies het schemabestand en het gebiedenbestand.")
        }
        let label = form.field("label")?.trimmed() ?? ""
        guard let scheme = form.file("scheme"), !scheme.body.isEmpty, let areas = form.file("areas"), !areas.body.isEmpty else {
            return try await mosaic(context, report: nil, error: "Kies het schemabestand en het gebiedenbestand (CSV).", label: label)
        }
        guard !label.isEmpty, label.count <= 200 else {
            return try await mosaic(context, report: nil, error: "Geef de levering een naam, bijvoorbeeld ‘Mosaic 2026’.", label: label)
        }
        let report: MosaicImportReport
        do {
            report = try await MosaicImport(dryRun: form.field("dry_run") == "on").run(
                scheme: scheme.body, areas: areas.body, label: label, by: principal.userID, now: services.now(), db: services.db)
        } catch MosaicError.unreadable(let reason) {
            return try await mosaic(context, report: nil, error: Self.dutchMosaicReason(reason), label: label)
        }
        return try await mosaic(context, report: report, error: nil, label: report.dryRun ? label : "")
    }

    /// The Mosaic load's reasons (a row's, or a whole file's) in Dutch; one not known here keeps its English.
    static func dutchMosaicReason(_ reason: String) -> String {
        let files = ["schema": "het schema", "gebieden": "het gebiedenbestand"]
        let exact = [
            "Give the segment's code (at most 20 characters).": "Vul de code van het segment in (hoogstens 20 tekens).",
            "Give the subsegment's code (at most 20 characters).": "Vul de code van het subsegment in (hoogstens 20 tekens).",
            "Give the subsegment's name (at most 200 characters).": "Vul de naam van het subsegment in (hoogstens 200 tekens).",
            "The scheme file has no usable subsegment.": "Het schema heeft geen bruikbaar subsegment.",
            "Not a Dutch postcode; use 1234 AB.": "Geen Nederlandse postcode; gebruik 1234 AB.",
            "Give the municipality.": "Vul de gemeente in.",
            "Not a whole number of households.": "Het aantal huishoudens is geen heel getal.",
            "Not a whole number of inhabitants.": "Het aantal inwoners is geen heel getal.",
            "The area file has no usable row.": "Het gebiedenbestand heeft geen bruikbare regel.",
            "Name the delivery (1 to 200 characters).": "Geef de levering een naam (hoogstens 200 tekens).",
        ]
        if let dutch = exact[reason] { return dutch }
        if let match = reason.firstMatch(of: /^Unknown subsegment '(.*)'\.$/) { return "Subsegment ‘\(match.output.1)’ staat niet in het schema." }
        if let match = reason.firstMatch(of: /^Subsegment (.*) appears twice\.$/) {
            return "Subsegment \(match.output.1) staat twee keer in het schema."
        }
        if let match = reason.firstMatch(of: /^The postcode lies in (.*) on an earlier row\.$/) {
            return "Deze postcode ligt volgens een eerdere regel in \(match.output.1)."
        }
        if let match = reason.firstMatch(of: /^This postcode and subsegment appear again \(first on line (\d+)\)\.$/) {
            return "Deze postcode en dit subsegment staan al eerder in het bestand (regel \(match.output.1))."
        }
        if reason.firstMatch(of: /^The row has \d+ fields; the header has \d+\.$/) != nil {
            return "Deze regel heeft een ander aantal kolommen dan de kopregel."
        }
        if let match = reason.firstMatch(of: /^No column of the (\w+) file maps to (\w+); the header has: (.*)\.$/) {
            return
                "\(files[String(match.output.1)]?.capitalizedFirst ?? "Het bestand") heeft geen kolom voor ‘\(match.output.2)’; de kopregel heeft: "
                + "\(match.output.3)."
        }
        if let match = reason.firstMatch(of: /^The (\w+) file is empty\.$/) {
            return "\(files[String(match.output.1)]?.capitalizedFirst ?? "Het bestand") is leeg."
        }
        if let match = reason.firstMatch(of: /^The (\w+) file has no header row\.$/) {
            return "\(files[String(match.output.1)]?.capitalizedFirst ?? "Het bestand") heeft geen kopregel."
        }
        if reason.contains("is not utf-8 text") || reason.contains("is not windows-1252 text") {
            return "Het bestand bevat tekens die geen tekst zijn; sla het op als CSV (UTF-8)."
        }
        if reason.contains("never ends") { return "Een veld tussen aanhalingstekens wordt niet afgesloten; controleer het bestand." }
        return reason
    }
}
