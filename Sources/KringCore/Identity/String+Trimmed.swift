extension Substring {
    /// The text without leading and trailing white space (including line breaks).
    ///
    /// Foundation's `trimmingCharacters(in:)` goes through NSString on Linux and dominated the import's profile.
    public func trimmed() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isTrimmable }),
            let last = scalars.lastIndex(where: { !$0.isTrimmable })
        else { return "" }
        return String(Substring(scalars[first...last]))
    }
}

extension String {
    /// The text without leading and trailing white space (including line breaks).
    public func trimmed() -> String {
        // Most values have no surrounding space: answer from the first and last byte when they are plain ASCII.
        if let first = utf8.first, let last = utf8.last, first < 0x80, last < 0x80, !first.isASCIISpace, !last.isASCIISpace {
            return self
        }
        return self[...].trimmed()
    }
}

extension UInt8 {
    /// Space, tab, line feed, vertical tab, form feed or carriage return.
    @inline(__always) var isASCIISpace: Bool { self == 0x20 || (0x09...0x0D).contains(self) }
}

extension Unicode.Scalar {
    @inline(__always) var isTrimmable: Bool {
        value < 0x80 ? UInt8(value).isASCIISpace : properties.isWhitespace
    }
}
