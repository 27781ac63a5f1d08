import Foundation
import TallyCore
import TallyFiles

/// What a setting's set-time check may look at (the state directory, for paths relative to it).
public struct SettingContext: Sendable {
    public var directory: StateDirectory

    public init(directory: StateDirectory) { self.directory = directory }
}

/// One row of the settings table (``HostSettings/table``): the setting's name for `tally host set`, its key in
/// `settings.json`, the stored property of ``HostSettings`` holding it (whose initial value is the default), its
/// type and range, when a running host applies a change, and its help.
///
/// Everything that handles settings works from the rows: the file's coding, validation on load, `tally host
/// set`/`get`, their help, and what SIGHUP applies (``HostSettingsChange``).
public struct HostSetting: Sendable {
    /// The name `tally host set` takes, `renewal-interval`.
    public let name: String
    /// The key in `settings.json`, `renewalInterval`.
    public let key: String
    /// What the value looks like: `15...43200`, `on or off`, `ADDR:PORT`.
    public let syntax: String
    /// When a running host applies a change (a row may refine it per change, see ``applies(from:to:)``).
    public let applies: SettingApplies
    /// What the setting means, one phrase.
    public let help: String
    /// A valid value other than the default, for remedies and for tests that go through every row.
    public let example: String
    /// Whether some changes apply otherwise than ``applies`` says (the row's help says which).
    public let refinesApplies: Bool

    let read: @Sendable (HostSettings) -> String
    let assign: @Sendable (String, inout HostSettings, SettingContext?) throws(TallyError) -> Void
    let decode: @Sendable (KeyedDecodingContainer<SettingsCodingKey>, inout HostSettings) -> Bool
    let encode: @Sendable (HostSettings, inout KeyedEncodingContainer<SettingsCodingKey>) throws -> Void
    let differs: @Sendable (HostSettings, HostSettings) -> Bool
    let copy: @Sendable (HostSettings, inout HostSettings) -> Void
    let refine: @Sendable (HostSettings, HostSettings) -> SettingApplies

    /// Declares a setting held in `property`.
    ///
    /// - Parameters:
    ///   - key: the `settings.json` key; by default `name` in camel case (`renewal-interval` → `renewalInterval`).
    ///   - appliesWhen: for a setting whose change applies differently depending on the old and new value (an
    ///     admin token file changed to another file applies on SIGHUP, set or removed only at restart).
    ///   - check: run by `tally host set` (never on load) after the value parsed, with the state directory: for a
    ///     setting naming a file, whether the file is fit to use (its mode, whether it parses). It throws to refuse.
    public init<Value: Codable & Equatable & Sendable>(
        _ name: String, _ property: any WritableKeyPath<HostSettings, Value> & Sendable, key: String? = nil, _ type: SettingType<Value>,
        applies: SettingApplies, example: String, help: String,
        appliesWhen: (@Sendable (_ old: Value, _ new: Value) -> SettingApplies)? = nil,
        check: (@Sendable (Value, SettingContext) throws(TallyError) -> Void)? = nil
    ) {
        self.name = name
        self.key = key ?? HostSetting.camelCase(name)
        self.syntax = type.syntax
        self.applies = applies
        self.help = help
        self.example = example
        refinesApplies = appliesWhen != nil
        let codingKey = SettingsCodingKey(self.key)
        read = { type.format($0[keyPath: property]) }
        assign = { (text: String, settings: inout HostSettings, context: SettingContext?) throws(TallyError) -> Void in
            let value: Value
            do throws(TallyError) {
                value = try type.parse(text)
            } catch {
                throw TallyError(.usageError, "\(name): \(error.message)",
                                 remedy: "Give \(name) as \(type.syntax), e.g. `tally host set \(name) \(example)` (`tally host set --help` lists them all).")
            }
            if let check, let context {
                do throws(TallyError) { try check(value, context) } catch { throw TallyError(error.code, "\(name): \(error.message)", remedy: error.remedy, hint: error.hint) }
            }
            settings[keyPath: property] = value
        }
        decode = { container, settings in
            guard let value = try? container.decode(Value.self, forKey: codingKey) else { return false }
            settings[keyPath: property] = value
            return true
        }
        encode = { settings, container in try container.encode(settings[keyPath: property], forKey: codingKey) }
        differs = { $0[keyPath: property] != $1[keyPath: property] }
        copy = { from, into in into[keyPath: property] = from[keyPath: property] }
        refine = { old, new in appliesWhen?(old[keyPath: property], new[keyPath: property]) ?? applies }
    }

    /// The value in `settings` as `tally host set` takes it.
    public func value(in settings: HostSettings) -> String { read(settings) }

    /// The default, as `tally host set` takes it.
    public var defaultValue: String { read(HostSettings()) }

    /// When a running host that has `old` applies `new`.
    public func applies(from old: HostSettings, to new: HostSettings) -> SettingApplies { refine(old, new) }

    /// Whether `a` and `b` hold different values of this setting.
    public func changed(from a: HostSettings, to b: HostSettings) -> Bool { differs(a, b) }

    /// Parses `text` into `settings`, with the row's set-time check when `context` is given; `settings` is
    /// unchanged on error.
    public func set(_ text: String, in settings: inout HostSettings, context: SettingContext? = nil) throws(TallyError) {
        try assign(text, &settings, context)
        settings.preserved[key] = nil
    }

    /// Refuses a value that `tally host set` would not take (one read from a hand-edited file).
    func validate(_ settings: HostSettings) throws(TallyError) {
        var copy = settings
        try assign(read(settings), &copy, nil)
    }

    static func camelCase(_ name: String) -> String {
        let words = name.split(separator: "-")
        return (words.first.map(String.init) ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}

/// A `settings.json` key.
struct SettingsCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ key: String) { stringValue = key }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
