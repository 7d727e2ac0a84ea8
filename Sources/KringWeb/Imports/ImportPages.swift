import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// A library's imports: upload a file, see the dry run (counts, every bad row, and for the member export the branches
/// it names that the library lacks, with one button to add them), confirm, follow the progress, and take the bad
/// rows away as CSV. Two areas share the pages: Beheer (tenant_admin) for the library system's member export and the
/// ticketing export, Relaties (relations) for the colleagues' lists of organisations and contacts.
struct ImportPages {
    let services: AppServices
    let templates: WebTemplates
    let area: Area

    /// Where the pages live, who may use them and which kinds of file they take.
    struct Area: Sendable {
        /// "beheer/import"
        let base: String
        /// The heading above the tabs: "Beheer".
        let name: String
        /// The navigation item that is current: "/beheer".
        let nav: String
        let permission: Permission
        let kinds: [Imports.Kind]
        let tabs: @Sendable (Staff) -> [AdminPages.Tab]
        let lead: String
        let mappingHint: String
    }

    static let admin = Area(
        base: "beheer/import", name: "Beheer", nav: "/beheer", permission: .importsWrite, kinds: [.members, .registrations],
        tabs: { _ in AdminPages.tabs("/beheer/import") },
        lead: "Upload de export van het bibliotheeksysteem of van het ticketingsysteem. Kring doet eerst een proefimport: u ziet wat er "
            + "zou gebeuren en welke rijen niet kloppen, en bevestigt daarna pas.",
        mappingHint: "Een JSON-bestand dat zegt welke kolom wat is. Zonder bestand gebruikt Kring de standaardkoppeling (kolommen zoals "
            + "‘Lenernummer’, ‘Achternaam’, ‘Postcode’, ‘Vestiging’).")

    static let relations = Area(
        base: "relaties/import", name: "Relaties", nav: "/relaties", permission: .relationsWrite, kinds: [.organisations, .contacts],
        tabs: { OrganisationPages.tabs("/relaties/import", $0) },
        lead: "Upload een lijst van organisaties of contactpersonen (uit Excel opgeslagen als CSV). Kring doet eerst een proefimport: "
            + "u ziet wat er zou gebeuren en welke rijen niet kloppen, en bevestigt daarna pas. Wat al in Kring staat, wordt bijgewerkt; "
            + "een lege cel laat staan wat Kring weet. Importeer eerst de organisaties, dan de contactpersonen.",
        mappingHint: "Een JSON-bestand dat zegt welke kolom wat is. Zonder bestand gebruikt Kring de standaardkoppeling: voor organisaties "
            + "kolommen zoals ‘Naam’, ‘Soort’, ‘Postcode’, ‘Plaats’, ‘Accountmanager’ en ‘Schoolbestuur’; voor contactpersonen "
            + "‘Organisatie’, ‘Postcode organisatie’, ‘Voornaam’, ‘Achternaam’, ‘E-mail’, ‘Functie’ en ‘Rol’.")

    static let kindNames: [Imports.Kind: String] = [
        .members: "Ledenbestand uit het bibliotheeksysteem", .registrations: "Aanmeldingen uit het ticketingsysteem",
        .organisations: "Organisaties", .contacts: "Contactpersonen met hun rol bij een organisatie",
    ]

    func addRoutes(to router: Router<KringRequestContext>) {
        let base = area.base
        router.get("\(base)") { _, context in try await form(context, error: nil) }
        router.post("\(base)") { request, context in try await upload(request, context) }
        router.get("\(base)/:id") { _, context in try await show(context) }
        router.get("\(base)/:id/voortgang") { _, context in try await progress(context) }
        router.get("\(base)/:id/fouten.csv") { _, context in try await badRows(context) }
        if area.kinds.contains(.members) {
            router.post("\(base)/:id/vestigingen") { request, context in try await addBranches(request, context) }
        }
        router.post("\(base)/:id/uitvoeren") { _, context in try await confirm(context) }
    }

    private func importID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw ImportNotFound() }
        return id
    }

    struct ImportNotFound: Error, Equatable, ProblemConvertible {
        var problem: Problem { .notFound("No such import in this library.") }
    }

    /// The import, read with the area's permission; another library's id, or an import of the other area's kinds,
    /// answers 404 (and is audited).
    private func find(_ context: KringRequestContext, _ id: UUID) async throws -> ImportRun {
        try await services.inTenant(area.permission, context, record: id, "import", notFound: ImportNotFound()) { tx, _, _ in
            guard let run = try await Imports.find(id, in: tx), let kind = Imports.Kind(rawValue: run.kind), area.kinds.contains(kind) else {
                throw ImportNotFound()
            }
            return run
        }
    }

    // MARK: Upload

    struct FormModel {
        let chrome: Chrome
        let areaName: String
        let tabs: [AdminPages.Tab]
        let base: String
        let lead: String
        let kinds: [Choice]
        let mappingHint: String
        let fullExport: Bool
        let error: String?
    }

    func form(_ context: KringRequestContext, error: String?, kind: Imports.Kind? = nil) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(area.permission)
        let chosen = kind ?? area.kinds[0]
        let model = FormModel(
            chrome: staff.chrome("Importeren", area: area.nav), areaName: area.name, tabs: area.tabs(staff), base: "/" + area.base,
            lead: area.lead,
            kinds: area.kinds.map { Choice(value: $0.rawValue, label: Self.kindNames[$0] ?? $0.rawValue, selected: $0 == chosen) },
            mappingHint: area.mappingHint, fullExport: area.kinds.contains(.members), error: error)
        return WebResponse.html(try templates.render("imports/form", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func upload(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (principal, tenant) = try context.requireTenant(area.permission)
        var request = request
        let buffer = try await request.collectBody(upTo: services.settings.maxImportBytes)
        guard let form = MultipartForm(buffer: buffer, contentType: request.headers[.contentType] ?? "") else {
            return try await self.form(context, error: "Kies een bestand om te importeren.")
        }
        guard let kind = Imports.Kind(rawValue: form.field("kind") ?? ""), area.kinds.contains(kind) else {
            return try await self.form(context, error: "Kies wat u importeert.")
        }
        guard let file = form.file("file"), !file.body.isEmpty else {
            return try await self.form(context, error: "Kies het bestand (CSV) om te importeren.", kind: kind)
        }
        var mapping: String?
        if let upload = form.file("mapping"), !upload.body.isEmpty {
            let text = String(decoding: upload.body, as: UTF8.self)
            guard Self.mappingReads(text, for: kind), !text.contains("\0") else {
                return try await self.form(
                    context, error: "Het koppelbestand klopt niet. Gebruik een JSON-bestand zoals Deploy/mappings/\(kind.rawValue)-default.json.",
                    kind: kind)
            }
            mapping = text
        }
        let run: ImportRun
        do {
            run = try await ImportUploads.start(
                kind: kind, file: file.body, mappingJSON: mapping, dryRun: true,
                markMissingEnded: form.field("mark_missing_ended") == "on",
                principal: principal, tenant: tenant, services: services)
        } catch let error as ImportError {
            _ = error
            return try await self.form(context, error: "Dit bestand kan Kring niet lezen. Is het een CSV-export?", kind: kind)
        }
        return WebResponse.redirect("/\(area.base)/\(run.id.lower)")
    }

    /// Whether a column mapping file is one for `kind` (the relations module's mappings are checked by that module).
    static func mappingReads(_ text: String, for kind: Imports.Kind) -> Bool {
        switch kind {
        case .members, .registrations: return (try? Imports.mappingJSON(text, for: kind)) != nil
        case .organisations, .contacts: return (try? JSONDecoder().decode(RelationImportMapping.self, from: Data(text.utf8))) != nil
        }
    }

    // MARK: The dry run, the progress, the report

    struct RowError: Sendable {
        let line: String
        let column: String
        let reason: String
    }

    struct ShowModel {
        let chrome: Chrome
        let areaName: String
        let tabs: [AdminPages.Tab]
        let base: String
        let id: String
        let heading: String
        let kindName: String
        let running: Bool
        let started: Bool
        let done: Bool
        let failed: Bool
        let failure: String?
        let dryRun: Bool
        let percent: Int
        let progress: String
        let rows: String
        let inserted: String
        let updated: String
        let unchanged: String
        let rejected: String
        let hasErrors: Bool
        let errors: [RowError]
        let moreErrors: String?
        let unknownBranches: [String]
        let hasUnknownBranches: Bool
        let branchRows: String
        let canConfirm: Bool
        let used: Bool
        let missing: String?
    }

    static func progressText(_ run: ImportRun) -> (Int, String) {
        guard let total = run.rowsTotal, total > 0 else {
            return (run.status == .done ? 100 : 0, run.status == .queued ? "In de wachtrij…" : "Bezig…")
        }
        let done = min(run.rowsDone, total)
        return (done * 100 / total, "\(Dutch.number(done)) van \(Dutch.number(total)) rijen")
    }

    /// The import's reasons (English, as the API gives them to integrations) in the words of the library's staff.
    static let dutchReasons: [String: String] = [
        "A member needs a member type.": "Het abonnement (lenerscategorie) ontbreekt of is onbekend.",
        "A member needs the member number of the library system.": "Het lenernummer ontbreekt.",
        "No member number.": "Het lenernummer ontbreekt.",
        "Cannot lie in the future.": "Deze datum ligt in de toekomst.",
        "Give a last name or an e-mail address.": "Vul een achternaam of e-mailadres in.",
        "Lies before 1900.": "Deze datum ligt vóór 1900.",
        "Lies before membership_start.": "De einddatum ligt vóór de inschrijfdatum.",
        "Not a Dutch postcode; use 1234 AB.": "Geen Nederlandse postcode; schrijf 1234 AB.",
        "Not a date; use YYYY-MM-DD or DD-MM-YYYY.": "Geen datum; schrijf DD-MM-JJJJ.",
        "Not a date; use DD-MM-YYYY or YYYY-MM-DD.": "Geen datum; schrijf DD-MM-JJJJ.",
        "Not a phone number.": "Geen telefoonnummer.",
        "Not a valid e-mail address.": "Geen geldig e-mailadres.",
        "Starts with a number.": "Begint met een cijfer.",
        "Use active, ended or suspended.": "Onbekende status; gebruik actief, beëindigd of geblokkeerd.",
        "Not a whole number of loans.": "Geen heel aantal uitleningen.",
        "Not an amount in euros (e.g. 42,50).": "Geen bedrag in euro (bijvoorbeeld 42,50).",
        "Invalid row.": "Deze regel kan Kring niet lezen.",
        "Name the organisation.": "De organisatie ontbreekt.",
        "Use ja or nee.": "Vul ja of nee in.",
        "An organisation cannot lie below itself.": "Een organisatie kan niet onder zichzelf vallen.",
        "Not a web address.": "Geen webadres.",
        "Use a type code such as primary_school or municipality.": "Onbekende soort organisatie.",
        "The file is empty.": "Het bestand is leeg.",
        "The file has no header row.": "Het bestand heeft geen kopregel.",
    ]

    /// Reasons with a name or number in them: (English before, English after, Dutch with `%@` for what was between).
    static let dutchPatterns: [(String, String, String)] = [
        ("Give a value of 1 to ", " characters.", "Vul hier iets in, hoogstens %@ tekens."),
        ("Use at most ", " characters.", "Gebruik hoogstens %@ tekens."),
        ("No staff member of this library has the e-mail address '", "'.", "Geen medewerker van de bibliotheek heeft het e-mailadres ‘%@’."),
        ("Unknown organisation type '", "'.", "De soort organisatie ‘%@’ kent Kring niet."),
        ("This organisation appears again (first on line ", ").", "Deze organisatie staat al eerder in het bestand (regel %@)."),
        ("This person appears again at this organisation (first on line ", ").", "Deze persoon staat al eerder bij deze organisatie (regel %@)."),
        (
            "No organisation '", " in this library; import organisations first.",
            "Organisatie ‘%@ staat niet in Kring; importeer eerst de organisaties."
        ),
        ("Several organisations are called '", "'; give the postcode.", "Er zijn meer organisaties die ‘%@’ heten; vul de postcode in."),
        ("The file has more than ", " rows.", "Het bestand heeft meer dan %@ rijen; splits het op."),
        ("Use one of ", ".", "Kies uit: %@."),
        ("Give one of ", ".", "Kies uit: %@."),
        ("Column ", " is not utf-8 text.", "Kolom %@ bevat tekens die geen tekst zijn."),
        ("Column ", " is not windows-1252 text.", "Kolom %@ bevat tekens die geen tekst zijn."),
    ]

    static func dutchReason(_ reason: String) -> String {
        if reason.hasPrefix("Unknown branch '") {
            return "Vestiging ‘\(reason.dropFirst("Unknown branch '".count).dropLast(2))’ bestaat niet in Kring."
        }
        if reason.hasPrefix("The row has "), reason.contains("fields; the header has") {
            return "Deze regel heeft een ander aantal kolommen dan de kopregel."
        }
        if reason.hasPrefix("No column maps to "), let split = reason.range(of: "; the header has: ") {
            let field = reason[reason.index(reason.startIndex, offsetBy: "No column maps to ".count)..<split.lowerBound]
            return "Het bestand heeft geen kolom voor ‘\(field)’; de kopregel heeft: \(reason[split.upperBound...].dropLast()). "
                + "Gebruik de kolomnamen van de standaardkoppeling of een koppelbestand."
        }
        for (before, after, dutch) in dutchPatterns
        where reason.hasPrefix(before) && reason.hasSuffix(after) && reason.count > before.count + after.count {
            var middle = String(reason.dropFirst(before.count).dropLast(after.count))
            // "No organisation 'X' with postcode 1234AB": the name's closing quote in Dutch, the postcode after it.
            middle = middle.replacingOccurrences(of: "' with postcode ", with: "’ met postcode ")
            if before == "No organisation '" && middle.hasSuffix("'") { middle = String(middle.dropLast()) + "’" }
            return dutch.replacingOccurrences(of: "%@", with: middle)
        }
        return dutchReasons[reason] ?? dutchByPieces(reason)
    }

    /// Several reasons in one ("Not a valid e-mail address. Not a Dutch postcode; use 1234 AB.") translated piece by piece.
    static func dutchByPieces(_ reason: String) -> String {
        var rest = reason
        var out: [String] = []
        while !rest.isEmpty {
            guard let (english, dutch) = dutchReasons.first(where: { rest.hasPrefix($0.key) }) else {
                return out.isEmpty ? reason : (out + [rest]).joined(separator: " ")
            }
            out.append(dutch)
            rest = String(rest.dropFirst(english.count)).trimmingCharacters(in: .whitespaces)
        }
        return out.joined(separator: " ")
    }

    func show(_ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try importID(context)
        let run = try await find(context, id)
        let (percent, progress) = Self.progressText(run)
        let report = run.report
        let kindName = Imports.Kind(rawValue: run.kind).flatMap { Self.kindNames[$0] } ?? run.kind
        let unknown = report?.unknownBranches ?? []
        let kept = try await services.inTenant(area.permission, context) { tx, _, _ in try await Imports.keepsFile(id, in: tx) }
        let fresh = kept && run.createdAt > services.now().addingTimeInterval(-Imports.dryRunKeep)
        let branchRows = (report?.errors ?? []).filter { $0.reason.hasPrefix("Unknown branch '") }.count
        let shownErrors = (report?.errors ?? []).filter { !(fresh && !unknown.isEmpty && $0.reason.hasPrefix("Unknown branch '")) }
        let errors = shownErrors.prefix(500).map {
            RowError(line: String($0.line), column: $0.column ?? "", reason: Self.dutchReason($0.reason))
        }
        let model = ShowModel(
            chrome: staff.chrome("Import", area: area.nav), areaName: area.name, tabs: area.tabs(staff), base: "/" + area.base, id: id.lower,
            heading: run.dryRun ? "Proefimport: wat er zou gebeuren" : "Import", kindName: kindName,
            running: run.status == .queued || run.status == .running, started: run.rowsTotal != nil, done: run.status == .done,
            failed: run.status == .failed,
            failure: run.error.map(Self.dutchReason), dryRun: run.dryRun, percent: percent, progress: progress,
            rows: Dutch.number(report?.rows ?? 0), inserted: Dutch.number(report?.inserted ?? 0), updated: Dutch.number(report?.updated ?? 0),
            unchanged: Dutch.number(report?.unchanged ?? 0), rejected: Dutch.number(report?.rejected ?? 0),
            hasErrors: !shownErrors.isEmpty, errors: Array(errors),
            moreErrors: shownErrors.count > errors.count ? "De eerste \(errors.count) staan hier; de download bevat er tot 1.000." : nil,
            unknownBranches: unknown, hasUnknownBranches: !unknown.isEmpty && run.dryRun && fresh,
            branchRows: Dutch.number(branchRows),
            canConfirm: run.dryRun && run.status == .done && fresh, used: run.dryRun && run.status == .done && !fresh,
            missing: (report?.missingMembers ?? 0) > 0 ? Dutch.number(report?.missingMembers ?? 0) : nil)
        return WebResponse.html(try templates.render("imports/show", model))
    }

    /// For the script's progress bar: `{"percent": 42, "text": "…", "done": false}`.
    func progress(_ context: KringRequestContext) async throws -> Response {
        let run = try await find(context, try importID(context))
        let (percent, text) = Self.progressText(run)
        struct Progress: Encodable {
            let percent: Int
            let text: String
            let finished: Bool
        }
        return try WebResponse.json(Progress(percent: percent, text: text, finished: run.status == .done || run.status == .failed))
    }

    func badRows(_ context: KringRequestContext) async throws -> Response {
        let id = try importID(context)
        let run = try await find(context, id)
        var csv = CSVDownload()
        csv.raw("regel;kolom;reden")
        for error in run.report?.errors ?? [] {
            csv.raw("\(error.line);\(CSVDownload.field(error.column ?? ""));\(CSVDownload.field(Self.dutchReason(error.reason)))")
        }
        return csv.response(filename: "import-\(id.lower.prefix(8))-fouten.csv")
    }

    // MARK: Branches and confirmation

    func addBranches(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let (principal, tenant) = try context.requireTenant(.branchesManage)
        let id = try importID(context)
        let run = try await find(context, id)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let municipality = (form.value("municipality") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let names = run.report?.unknownBranches ?? []
        guard !municipality.isEmpty, !names.isEmpty else { return WebResponse.redirect("/\(area.base)/\(id.lower)") }
        try await services.inTenant(.branchesManage, context) { tx, actor, now in
            var existing = Set(try await Branches.list(in: tx).map { $0.name.lowercased() })
            for name in names where !existing.contains(name.lowercased()) && (1...120).contains(name.count) {
                _ = try await Branches.create(BranchDraft(name: name, municipality: municipality), by: actor, now: now, in: tx)
                existing.insert(name.lowercased())
            }
        }
        // The dry run again, now that the branches exist.
        guard let again = try await ImportUploads.again(dryRunID: id, dryRun: true, principal: principal, tenant: tenant, services: services) else {
            return try await self.form(context, error: "Het bestand van deze proefimport is niet meer bewaard. Upload het opnieuw.")
        }
        return WebResponse.redirect("/\(area.base)/\(again.id.lower)")
    }

    func confirm(_ context: KringRequestContext) async throws -> Response {
        let (principal, tenant) = try context.requireTenant(area.permission)
        let id = try importID(context)
        _ = try await find(context, id)
        guard let real = try await ImportUploads.again(dryRunID: id, dryRun: false, principal: principal, tenant: tenant, services: services) else {
            return try await form(context, error: "Het bestand van deze proefimport is niet meer bewaard. Upload het opnieuw.")
        }
        return WebResponse.redirect("/\(area.base)/\(real.id.lower)")
    }
}
