import TallyCore

/// HTML text escaping: everything that reaches a page and was not written here (machine names, CMIDs, SKUs,
/// event fields, error messages) goes through `HTML.escape`.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (other than tab and newline) never reach a page, nor bidirectional controls,
                // which would make a name read in another order than it is stored.
                if (scalar.properties.generalCategory == .control && scalar != "\t" && scalar != "\n") || Sanitize.isBidiControl(scalar) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
