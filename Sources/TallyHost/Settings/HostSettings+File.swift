import Foundation
import TallyCore
import TallyFiles

/// `settings.json`: one key per row of ``HostSettings/table``. A missing key takes the default; a key this
/// version does not know, or a value of the wrong type, is kept as it was (``HostSettings/preserved``) and
/// refused by validation, so `tally host set` can still repair the file and never loses what it does not know.
extension HostSettings: Codable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: SettingsCodingKey.self)
        let known = Set(HostSettings.table.map(\.key))
        for setting in HostSettings.table where container.contains(SettingsCodingKey(setting.key)) {
            if !setting.decode(container, &self) {
                preserved[setting.key] = try container.decode(PreservedJSON.self, forKey: SettingsCodingKey(setting.key))
            }
        }
        for key in container.allKeys where !known.contains(key.stringValue) {
            preserved[key.stringValue] = try container.decode(PreservedJSON.self, forKey: key)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: SettingsCodingKey.self)
        for setting in HostSettings.table where preserved[setting.key] == nil {
            try setting.encode(self, &container)
        }
        for (key, value) in preserved {
            try container.encode(value, forKey: SettingsCodingKey(key))
        }
    }

    static let fileName = "settings.json"

    /// Reads the settings file; a missing file gives the defaults, one that is not JSON an error.
    ///
    /// `validating: false` is for `tally host set`, which must be able to repair a value that is out of range,
    /// of the wrong type, or unknown.
    public static func load(from directory: StateDirectory, validating: Bool = true) throws -> HostSettings {
        guard directory.exists(fileName) else { return HostSettings() }
        let settings: HostSettings
        do throws(TallyError) {
            settings = try directory.readJSON(HostSettings.self, from: fileName)
        } catch {
            throw TallyError(error.code, error.message,
                             remedy: "Fix \(directory.file(fileName).path) (a JSON object, one key per setting) or remove it: every setting then has its default.")
        }
        return validating ? try settings.validated() : settings
    }

    /// Writes the settings file (under the state directory's lock), every setting with its value.
    public func save(to directory: StateDirectory) throws {
        try directory.withLock { try directory.writeJSON(self, to: HostSettings.fileName) }
    }

    /// What is wrong with these settings as read from a file: each value `tally host set` would refuse, each
    /// value of the wrong type, each key that is not a setting. Empty when the host may use them.
    public var problems: [TallyError] {
        var problems: [TallyError] = []
        for setting in HostSettings.table {
            if let raw = preserved[setting.key] {
                problems.append(TallyError(.usageError, "\(setting.name) (\"\(setting.key)\") is \(raw), not \(setting.syntax)",
                                           remedy: "Run `tally host set \(setting.name) VALUE` (e.g. \(setting.example)), or `tally host reset \(setting.name)` for the default \(setting.defaultValue)."))
                continue
            }
            do {
                try setting.validate(self)
            } catch {
                problems.append(TallyError(.usageError, error.message,
                                           remedy: "Run `tally host set \(setting.name) VALUE` (e.g. \(setting.example)), or `tally host reset \(setting.name)` for the default \(setting.defaultValue)."))
            }
        }
        let known = Set(HostSettings.table.map(\.key))
        for key in preserved.keys.sorted() where !known.contains(key) {
            problems.append(TallyError(.usageError, "\"\(key)\" is not a setting of this version of tally (a typo, or a setting of a newer version)",
                                       remedy: "Remove it with `tally host reset \(key)` (or edit settings.json), or run the tally that wrote it; `tally host set --help` lists the settings."))
        }
        return problems
    }

    /// These settings when the host may use them; else an error naming every problem, with the command that
    /// repairs the first. Used on load (start, SIGHUP, the CLI's reads), so a hand-edited file cannot make the host
    /// trap (a timeout that overflows, a negative connection limit) or silently ignore a key it does not know.
    public func validated() throws(TallyError) -> HostSettings {
        let problems = problems
        guard let first = problems.first else { return self }
        let message = "settings.json: " + problems.map(\.message).joined(separator: "; ")
        let remedy = first.remedy + (problems.count > 1 ? " Then the same for the others." : "") + " Then start the host or send it SIGHUP."
        throw TallyError(.usageError, message, remedy: remedy)
    }
}
