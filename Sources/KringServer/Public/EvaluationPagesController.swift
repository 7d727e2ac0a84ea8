import Foundation
import Hummingbird
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase

/// The evaluation form under `/s/{tenant}/e/{token}`, linked from the third-half mail: a score from 1 to 10 and an
/// optional comment on an activity the customer attended, once per registration. No login: the signed link names the
/// registration. A link that cannot be used answers 404 whatever the reason, so the page reveals nothing about it.
struct EvaluationPagesController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get(":tenant/e/:token") { _, context in await PublicPage.serve(context) { try await evaluationPage(context) } }
        group.post(":tenant/e/:token") { request, context in await PublicPage.serve(context) { try await evaluate(request, context) } }
    }

    private func evaluationRequest(_ context: KringRequestContext) async throws -> (PublicLink, Activities.EvaluationRequest) {
        let link: PublicLink
        let registrationID: UUID
        do {
            link = try await PublicLink.resolve(.evaluate, context, services: services)
            registrationID = try link.subjectID()
        } catch {
            throw PublicFailure.notFound
        }
        guard
            let request = try await services.db.withTenant(
                link.tenant,
                { tx in
                    try await Activities.evaluationRequest(registrationID: registrationID, in: tx)
                })
        else { throw PublicFailure.notFound }
        return (link, request)
    }

    /// Shows the form (or that the activity was evaluated already); changes nothing (mail scanners follow links).
    func evaluationPage(_ context: KringRequestContext) async throws -> Response {
        let (_, request) = try await evaluationRequest(context)
        if request.evaluated { return alreadyEvaluated(request) }
        guard request.registration.status == .attended else { return notAttended(request) }
        return form(request, status: .ok, message: nil)
    }

    /// Records the evaluation as the customer's own, through the link in their mail.
    func evaluate(_ httpRequest: Request, _ context: KringRequestContext) async throws -> Response {
        let (link, request) = try await evaluationRequest(context)
        if request.evaluated { return alreadyEvaluated(request) }
        let body = try await FormBody.read(httpRequest, limit: services.settings.maxBodyBytes)
        guard let score = body.value("score").flatMap({ Int($0.trimmed()) }), (1...10).contains(score) else {
            return form(request, status: .badRequest, message: "Kies een cijfer van 1 tot en met 10.")
        }
        let comment = body.value("comment")?.trimmed()
        if let comment, comment.count > Activities.evaluationCommentLimit {
            return form(request, status: .badRequest, message: "Je toelichting mag hoogstens \(Activities.evaluationCommentLimit) tekens lang zijn.")
        }
        let now = services.now()
        do {
            try await services.db.withTenant(link.tenant) { tx in
                try await Activities.evaluate(
                    registrationID: request.registration.id, score: score, comment: comment?.isEmpty == false ? comment : nil,
                    by: .system, via: "evaluation_link", now: now, in: tx)
            }
        } catch ActivityError.alreadyEvaluated {
            return alreadyEvaluated(request)
        } catch ActivityError.notAttended {
            return notAttended(request)
        } catch ActivityError.registrationNotFound {
            throw PublicFailure.notFound
        }
        return PublicPage.html(
            title: "Bedankt!",
            body: PublicPage.paragraph(
                "Je beoordeling van \(request.activity.title) is opgeslagen. Daar helpen "
                    + "je ons mee om onze activiteiten nog beter te maken."))
    }

    private func alreadyEvaluated(_ request: Activities.EvaluationRequest) -> Response {
        PublicPage.html(title: "Al beoordeeld", body: PublicPage.paragraph("Je hebt \(request.activity.title) al beoordeeld. Bedankt daarvoor!"))
    }

    private func notAttended(_ request: Activities.EvaluationRequest) -> Response {
        PublicPage.html(
            .conflict, title: "Nog niet te beoordelen",
            body: PublicPage.paragraph("Je kunt \(request.activity.title) beoordelen zodra de bibliotheek heeft genoteerd dat je erbij was."))
    }

    private func form(_ request: Activities.EvaluationRequest, status: HTTPResponse.Status, message: String?) -> Response {
        let e = PublicPage.escape
        let date =
            RecipientContexts.activityFields(
                id: request.activity.id, title: request.activity.title, startsAt: request.activity.startsAt,
                branch: nil)["date"] ?? ""
        let options = ([#"<option value="">Kies een cijfer</option>"#] + (1...10).map { #"<option value="\#($0)">\#($0)</option>"# }).joined()
        let body =
            (message.map { #"<p role="alert"><strong>\#(e($0))</strong></p>"# } ?? "")
            + PublicPage.paragraph("Hoe vond je \(request.activity.title) op \(date)? Geef een cijfer van 1 (slecht) tot 10 (uitstekend).")
                + """
                <form method="post">
                <fieldset><label for="score">Cijfer</label><select id="score" name="score" required>\(options)</select></fieldset>
                <fieldset><label for="comment">Toelichting (mag leeg blijven)</label>
                <textarea id="comment" name="comment" rows="5" cols="40" maxlength="\(Activities.evaluationCommentLimit)"></textarea></fieldset>
                <button type="submit">Versturen</button>
                </form>
                """
        return PublicPage.html(status, title: "Wat vond je ervan?", body: body)
    }
}
