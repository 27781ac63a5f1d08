/// Text from elsewhere (a client's machine name, a host's error message) made safe to print: control characters
/// (escape sequences, C1 controls, DEL) become `?`, so nothing sent over the network can drive a terminal.
public enum Sanitize {
    public static func terminal(_ text: String, keepingLineBreaks: Bool = false) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar -> Unicode.Scalar in
            if keepingLineBreaks, scalar == "\n" || scalar == "\r" || scalar == "\t" { return scalar }
            return scalar.properties.generalCategory == .control ? "?" : scalar
        }))
    }
}
