import PostgresNIO

/// The first statement of every library transaction: the library's schema as the only search path and its role,
/// both for this transaction only (`set_config(..., true)`). Prepared, as it runs on every request.
struct TenantSwitch: PreparedRows {
    static let name = "kring.TenantSwitch"
    static let sql = "SELECT set_config('search_path', $1, true), set_config('role', $2, true)"
    static var bindingDataTypes: [PostgresDataType] { [.text, .text] }

    let tenant: Tenant

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(tenant.slug.schema.name)
        bindings.append(tenant.slug.role.name)
        return bindings
    }
}
