import Foundation

/// When a running host starts using a changed setting.
public enum SettingApplies: Sendable, Equatable {
    /// On SIGHUP (`systemctl reload tally-host`).
    case onSIGHUP
    /// Only when the host starts again (`systemctl restart tally-host`).
    case atRestart
    /// The host reads the settings file each time it does the job the setting is for, so neither SIGHUP nor a
    /// restart is needed; the text says when that is ("the next DNS publishing round").
    case whenUsed(String)

    /// DNS publishing reads the file at start, every 24 h and on `tally host dns publish`.
    public static let nextDNSRound = SettingApplies.whenUsed("the next DNS publishing round (at start, every 24 h, or `tally host dns publish` now)")
    /// Event retention reads the file at start and once a day.
    public static let nextEventSweep = SettingApplies.whenUsed("the next event sweep (at start and daily)")

    /// A word for JSON output: `sighup`, `restart` or `when-used`.
    public var keyword: String {
        switch self {
        case .onSIGHUP: "sighup"
        case .atRestart: "restart"
        case .whenUsed: "when-used"
        }
    }

    /// What `tally host set` says after changing a setting.
    public var advice: String {
        switch self {
        case .onSIGHUP: "a running host applies it on SIGHUP (`systemctl reload tally-host`)"
        case .atRestart: "restart a running host to apply it (`systemctl restart tally-host`); SIGHUP does not"
        case let .whenUsed(when): "a running host uses it from \(when); no SIGHUP or restart is needed"
        }
    }

    /// The short form `--help` shows: `on SIGHUP`, `at restart`, `from the next DNS publishing round`.
    public var summary: String {
        switch self {
        case .onSIGHUP: "on SIGHUP"
        case .atRestart: "at restart"
        case let .whenUsed(when): "from " + SettingApplies.short(when)
        }
    }

    /// `when` without its parenthesised detail: `the next event sweep`.
    static func short(_ when: String) -> String {
        when.range(of: " (").map { String(when[..<$0.lowerBound]) } ?? when
    }
}
