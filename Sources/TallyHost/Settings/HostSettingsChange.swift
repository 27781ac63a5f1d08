import Logging

/// What a reload (SIGHUP) does with a newly read settings file: which changed settings a running host applies
/// now, which it uses the next time it does their job, and which need a restart.
public struct HostSettingsChange: Sendable, Equatable {
    /// Changed settings applied now, by name, in table order.
    public var applied: [String] = []
    /// A changed setting the host reads from the file when it next uses it, and when that is.
    public struct Deferred: Sendable, Equatable {
        public var name: String
        public var when: String
    }

    /// Changed settings the host reads from the file when it next uses them.
    public var appliedWhenUsed: [Deferred] = []
    /// Changed settings that only a restart applies, by name.
    public var needsRestart: [String] = []
    /// The settings the host runs with from now on: the new ones, except that every setting needing a restart
    /// keeps the value the host has (so the next reload reports it again until the host restarts).
    public var effective: HostSettings

    /// Compares the settings a running host has (`old`) with those just read (`new`).
    public init(from old: HostSettings, to new: HostSettings) {
        effective = new
        for setting in HostSettings.table where setting.changed(from: old, to: new) {
            switch setting.applies(from: old, to: new) {
            case .onSIGHUP: applied.append(setting.name)
            case let .whenUsed(when): appliedWhenUsed.append(Deferred(name: setting.name, when: when))
            case .atRestart:
                needsRestart.append(setting.name)
                setting.copy(old, &effective)
            }
        }
    }

    /// Whether no setting changed.
    public var isEmpty: Bool { applied.isEmpty && appliedWhenUsed.isEmpty && needsRestart.isEmpty }

    /// The lines a reload logs: `applied: …`, `applied when next used: …`, `needs a restart: …`, or
    /// `no setting changed`.
    public var summary: [String] {
        guard !isEmpty else { return ["no setting changed"] }
        var lines: [String] = []
        if !applied.isEmpty { lines.append("applied: " + applied.joined(separator: ", ")) }
        if !appliedWhenUsed.isEmpty {
            lines.append("applied when next used: " + appliedWhenUsed.map { "\($0.name) (\(SettingApplies.short($0.when)))" }.joined(separator: ", "))
        }
        if !needsRestart.isEmpty { lines.append("needs a restart: " + needsRestart.joined(separator: ", ")) }
        return lines
    }

    /// Logs ``summary``: a setting needing a restart as a warning, the rest as information.
    public func log(to logger: Logger) {
        for line in summary {
            if line.hasPrefix("needs a restart") { logger.warning("\(line)") } else { logger.info("\(line)") }
        }
    }
}
