extension Substring {
    /// The text without leading and trailing white space (including line breaks).
    ///
    /// Foundation's `trimmingCharacters(in:)` goes through NSString on Linux and dominated the import's profile.
    public func trimmed() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(Substring(scalars[first...last]))
    }
}

extension String {
    /// The text without leading and trailing white space (including line breaks).
    public func trimmed() -> String {
        if let first = unicodeScalars.first, let last = unicodeScalars.last,
           !first.properties.isWhitespace, !last.properties.isWhitespace {
            return self
        }
        return self[...].trimmed()
    }
}
