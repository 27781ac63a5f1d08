extension HostSetting {
    /// The row as `tally host set --help` lists it: name, values, default and when a change applies, then what
    /// the setting is, wrapped to `width` columns (the help wraps longer lines without indenting them).
    public func helpEntry(width: Int = 78) -> String {
        let head = HostSetting.wrap("\(name)  \(syntax) (default \(defaultValue))", width: width, indent: "  ", hanging: "      ")
        let body = help + "; " + (refinesApplies ? "otherwise applies " : "applies ") + applies.summary
        return head + "\n" + HostSetting.wrap(body, width: width, indent: "      ", hanging: "      ")
    }

    /// `text` broken at spaces into lines of at most `width` columns, the first starting with `indent`, the others
    /// with `hanging`.
    static func wrap(_ text: String, width: Int, indent: String, hanging: String) -> String {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let start = line == indent || line == hanging
            if !start, line.count + 1 + word.count > width {
                lines.append(line)
                line = hanging
            }
            line += (line == indent || line == hanging ? "" : " ") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}

extension HostSettings {
    /// The list of settings in `tally host set --help`, made from ``table``.
    public static var helpText: String {
        let closing = "A running host applies a change on SIGHUP (`systemctl reload tally-host`), at restart (`systemctl restart "
            + "tally-host`), or when it next does the setting's job (it reads settings.json then); `tally host set` says which. "
            + "`tally host get [NAME]` shows the values, `tally host reset NAME` puts one back to its default."
        return "Settings:\n\n"
            + table.map { $0.helpEntry() }.joined(separator: "\n") + "\n\n" + HostSetting.wrap(closing, width: 78, indent: "", hanging: "")
    }
}
