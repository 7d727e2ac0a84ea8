/// What one recipient's mail may say about them. Every value is already text (dates in Dutch); a value that is
/// missing renders as empty.
///
/// Templates see `customer.*`, `branch.name`, `library.name`, `activities` (a list), `activity`, every string of
/// the send's context at the top level (`{{confirm_url}}`) and every entry of `links` (`{{unsubscribe_url}}`). A mail
/// to a business contact sees `contact.*` and `organisation.*` instead of the customer's fields.
public struct RecipientContext: Sendable {
    /// `first_name`, `last_name` (with the infix: "de Vries"), `full_name`, `member_type`, `age`.
    public var customer: [String: String]
    /// The customer's favourite branch: `name`.
    public var branch: [String: String]
    /// `name`.
    public var library: [String: String]
    /// Up to three upcoming activities for this customer: `id`, `title`, `date`, `time`, `when`, `branch`.
    public var activities: [[String: String]]
    /// The activity the send is about (a reminder, a booking confirmation), with the same keys as `activities` and,
    /// when the send names a registration, `price_paid` ("gratis", "€ 7,50").
    public var activity: [String: String]?
    /// The send's own context (e.g. `confirm_url`, `list_name`).
    public var variables: [String: String]
    /// The recipient's own links, filled by the caller: `unsubscribe_url`, `preferences_url`, `evaluation_url` (a
    /// third-half mail), ... Tracking never rewrites these.
    public var links: [String: String]
    /// A business contact: `first_name`, `last_name`, `full_name`, and from the role the send names `job_title` and
    /// `dmu_role`.
    public var contact: [String: String]
    /// The contact's organisation in that role: `name`, `type` ("Basisschool").
    public var organisation: [String: String]

    public init(
        customer: [String: String] = [:], branch: [String: String] = [:], library: [String: String] = [:],
        activities: [[String: String]] = [], activity: [String: String]? = nil, variables: [String: String] = [:],
        links: [String: String] = [:], contact: [String: String] = [:], organisation: [String: String] = [:]
    ) {
        self.customer = customer
        self.branch = branch
        self.library = library
        self.activities = activities
        self.activity = activity
        self.variables = variables
        self.links = links
        self.contact = contact
        self.organisation = organisation
    }

    /// The object Mustache renders: the send's variables, then the links, then the fixed names (which a send's
    /// context cannot shadow). Empty strings are left out, so that `{{#unsubscribe_url}}` tests for a link.
    var mustacheObject: [String: Any] {
        var object: [String: Any] = [:]
        object.reserveCapacity(variables.count + links.count + 8)
        for (key, value) in variables where !value.isEmpty { object[key] = value }
        for (key, value) in links where !value.isEmpty { object[key] = value }
        object["customer"] = customer
        object["branch"] = branch
        object["library"] = library
        object["activities"] = activities
        if let activity { object["activity"] = activity }
        if !contact.isEmpty { object["contact"] = contact }
        if !organisation.isEmpty { object["organisation"] = organisation }
        return object
    }
}
