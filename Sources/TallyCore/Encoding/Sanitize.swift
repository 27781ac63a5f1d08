/// Text from elsewhere (a client's machine name, a host's error message) made safe to show: control characters
/// (escape sequences, C1 controls, DEL) and bidirectional controls become `?`, so nothing sent over the network can
/// drive a terminal or make text read in another order than it is stored ("pc-\u{202E}gnp.exe" shown as
/// "pc-exe.png").
public enum Sanitize {
    public static func terminal(_ text: String, keepingLineBreaks: Bool = false) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar -> Unicode.Scalar in
            if keepingLineBreaks, scalar == "\n" || scalar == "\r" || scalar == "\t" { return scalar }
            return scalar.properties.generalCategory == .control || isBidiControl(scalar) ? "?" : scalar
        }))
    }

    /// The characters that reorder text around them (Unicode's bidirectional formatting characters): the embeddings
    /// and overrides U+202A–U+202E, the isolates U+2066–U+2069, and the marks U+200E, U+200F and U+061C.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true
        default: return false
        }
    }
}
