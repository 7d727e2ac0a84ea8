import Foundation
import KringDatabase
import PostgresNIO

/// The statements of a 360 view, prepared: it is the page staff open most, and parsing and planning its statements
/// anew was most of its database time (see `PreparedRows`).
enum ProfileStatements {
    /// The customer, and the audit record of reading them when they are there and not merged away.
    struct ReadAudited: PreparedRows {
        static let name = "kring.ProfileStatements.ReadAudited"
        static let sql = """
            WITH found AS (SELECT \(Customer.columns), merged_into FROM customers WHERE id = $1),
                 audited AS (INSERT INTO audit_log (\(TenantAudit.columnList))
                             SELECT $2, $3, $4, 'customer.read', 'customer', $5, '{}'::jsonb FROM found WHERE merged_into IS NULL)
            SELECT * FROM found
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid, .timestamptz, .uuid, .text, .text] }

        let id: UUID
        let actor: AuditActor
        let now: Date

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 5)
            bindings.append(id)
            bindings.append(now)
            bindings.append(actor: actor)
            bindings.append(id.uuidString.lowercased())
            return bindings
        }
    }

    /// The others at the customer's address and their linked parents and children: three index look-ups joined to
    /// customers (an OR of them in one WHERE clause made PostgreSQL walk every customer). A parent or child who also
    /// lives at the address is named as parent or child.
    struct Household: PreparedRows {
        static let name = "kring.ProfileStatements.Household"
        static let sql = """
            SELECT DISTINCT ON (c.id) c.id, concat_ws(' ', c.first_name, c.infix, c.last_name), c.member_type, r.relation
            FROM (SELECT h.id, 'housemate' AS relation, 3 AS rank FROM customers h WHERE h.household_id = $1
                  UNION ALL SELECT child_id, 'child', 2 FROM household_links WHERE parent_id = $2
                  UNION ALL SELECT parent_id, 'parent', 1 FROM household_links WHERE child_id = $2) r
            JOIN customers c ON c.id = r.id
            WHERE c.id <> $2 AND c.merged_into IS NULL AND c.erased_at IS NULL
            ORDER BY c.id, r.rank
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid, .uuid] }

        let customer: Customer

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            if let household = customer.householdID { bindings.append(household) } else { bindings.appendNull() }
            bindings.append(customer.id)
            return bindings
        }
    }

    /// The latest statement per topic.
    struct Consents: PreparedRows {
        static let name = "kring.ProfileStatements.Consents"
        static let sql = """
            SELECT DISTINCT ON (topic) \(Consent.columns) FROM consents WHERE customer_id = $1 ORDER BY topic, recorded_at DESC, id DESC
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid] }

        let id: UUID

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(id)
            return bindings
        }
    }

    /// The latest registrations, open complaints (by due date) or contact moments, at most `limit`.
    struct Latest: Sendable {
        let id: UUID
        let limit: Int

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(id)
            bindings.append(limit)
            return bindings
        }
    }

    struct Registrations: PreparedRows {
        static let name = "kring.ProfileStatements.Registrations"
        static let sql = """
            SELECT \(Registration.columns) FROM registrations WHERE customer_id = $1 ORDER BY registered_at DESC, id LIMIT $2
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid, .int8] }
        let latest: Latest
        func makeBindings() -> PostgresBindings { latest.makeBindings() }
    }

    struct OpenComplaints: PreparedRows {
        static let name = "kring.ProfileStatements.OpenComplaints"
        static let sql = """
            SELECT \(Complaint.columns) FROM complaints WHERE customer_id = $1 AND status <> 'resolved' ORDER BY due_at, id LIMIT $2
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid, .int8] }
        let latest: Latest
        func makeBindings() -> PostgresBindings { latest.makeBindings() }
    }

    struct Timeline: PreparedRows {
        static let name = "kring.ProfileStatements.Timeline"
        static let sql = """
            SELECT \(ContactMoment.columns) FROM contact_moments WHERE customer_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2
            """
        static var bindingDataTypes: [PostgresDataType] { [.uuid, .int8] }
        let latest: Latest
        func makeBindings() -> PostgresBindings { latest.makeBindings() }
    }
}
