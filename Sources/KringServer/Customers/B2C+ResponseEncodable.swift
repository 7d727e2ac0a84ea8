import Hummingbird
import KringB2C

// The B2C module knows nothing of HTTP; these conformances let its values be route results.
extension CustomerProfile: ResponseEncodable {}
extension CustomerExport: ResponseEncodable {}
extension ContactMoment: ResponseEncodable {}
extension Consent: ResponseEncodable {}
extension Branch: ResponseEncodable {}
extension Customer: ResponseEncodable {}
extension Activity: ResponseEncodable {}
extension Registration: ResponseEncodable {}
extension Complaint: ResponseEncodable {}
