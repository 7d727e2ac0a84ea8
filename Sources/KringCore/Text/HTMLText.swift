/// Text for HTML: content and quoted attribute values.
public enum HTMLText {
    /// `&`, `<`, `>`, `"` and `'` as character references; anything else unchanged.
    public static func escape(_ value: String) -> String {
        guard value.contains(where: { "&\"'<>".contains($0) }) else { return value }
        var result = ""
        result.reserveCapacity(value.utf8.count + 16)
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }
}
