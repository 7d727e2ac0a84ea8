import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore

/// The library's own settings: `GET /settings` and `PATCH /settings` (tenant administrators).
struct SettingsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { _, context in
            try await services.inTenant(.settingsManage, context) { tx, _, _ in try await TenantSettings.load(in: tx) }
        }
        group.patch { request, context in
            _ = try context.requireTenant(.settingsManage)
            let change = try await request.decodeJSON(TenantSettings.Change.self, limit: services.settings.maxBodyBytes)
            return try await services.inTenant(.settingsManage, context) { tx, actor, now in
                try await TenantSettings.change(change, by: actor, now: now, in: tx)
            }
        }
    }
}

extension TenantSettings: ResponseEncodable {}
