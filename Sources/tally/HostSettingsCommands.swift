import ArgumentParser
import Foundation
import TallyCore
import TallyHost

/// What `tally host set`, `get` and `reset` print for one setting with `--json`.
struct SettingReport: Encodable {
    var name: String
    var value: String
    var defaultValue: String
    var applies: String
    var previous: String?
    var advice: String?

    init(_ setting: HostSetting, in settings: HostSettings, previous: HostSettings? = nil) {
        name = setting.name
        value = setting.value(in: settings)
        defaultValue = setting.defaultValue
        applies = (previous.map { setting.applies(from: $0, to: settings) } ?? setting.applies).keyword
        self.previous = previous.map(setting.value(in:))
        advice = previous.map { setting.applies(from: $0, to: settings).advice }
    }
}

/// Reads the settings to change them: problems elsewhere in the file do not stop a repair.
private func editableSettings(_ host: HostOptions) throws -> HostSettings {
    try HostSettings.load(from: host.directory, validating: false)
}

/// After a change: says on stderr what the file still holds that a host would refuse.
private func warnAboutProblems(_ settings: HostSettings) {
    for problem in settings.problems {
        FileHandle.standardError.write(Data("warning: settings.json: \(problem.message)\n  Remedy: \(problem.remedy)\n".utf8))
    }
}

struct HostSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change a host setting; says whether a running host applies it on SIGHUP or needs a restart.",
        discussion: HostSettings.helpText
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The setting's name.") var name: String
    @Argument(help: "The new value.") var value: String

    func run() throws {
        try Output.run(json: output.json) {
            let old = try editableSettings(host)
            var settings = old
            let setting = try HostSettings.requireSetting(named: name)
            try setting.set(value, in: &settings, context: SettingContext(directory: host.directory))
            try settings.save(to: host.directory)
            let report = SettingReport(setting, in: settings, previous: old)
            Output.emit(report, json: output.json) {
                // Unchanged in the file, a running host may still have another value: the advice holds either way.
                (report.previous == report.value && old.preserved[setting.key] == nil
                    ? "\(name) is already \(report.value) in settings.json; " : "\(name) set to \(report.value) (was \(report.previous ?? "-")); ")
                    + (report.advice ?? "")
            }
            warnAboutProblems(settings)
        }
    }
}

struct HostGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show one host setting, or all of them, with defaults, when a change applies, and any problem in settings.json."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The setting's name (default: every setting).") var name: String?

    func run() throws {
        try Output.run(json: output.json) {
            let settings = try editableSettings(host)
            if let name {
                let report = SettingReport(try HostSettings.requireSetting(named: name), in: settings)
                Output.emit(report, json: output.json) { report.value }
            } else {
                let reports = HostSettings.table.map { SettingReport($0, in: settings) }
                Output.emit(["settings": reports], json: output.json) {
                    let nameWidth = (reports.map(\.name.count).max() ?? 0) + 2
                    let valueWidth = (reports.map(\.value.count).max() ?? 0) + 2
                    return reports.map { report in
                        report.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                            + report.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0)
                            + (report.value == report.defaultValue ? "(default)" : "(default \(report.defaultValue))")
                    }.joined(separator: "\n")
                }
            }
            warnAboutProblems(settings)
        }
    }
}

struct HostReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Put a host setting back to its default, or remove a key of settings.json that is not a setting."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The setting's name (or the unknown key).") var name: String

    func run() throws {
        try Output.run(json: output.json) {
            let old = try editableSettings(host)
            var settings = old
            try settings.reset(name)
            try settings.save(to: host.directory)
            if let setting = HostSettings.setting(named: name) ?? HostSettings.table.first(where: { $0.key == name }) {
                let report = SettingReport(setting, in: settings, previous: old)
                Output.emit(report, json: output.json) { "\(setting.name) reset to its default \(report.value); \(report.advice ?? "")" }
            } else {
                Output.emit(["removed": name], json: output.json) { "\"\(name)\" removed from settings.json" }
            }
            warnAboutProblems(settings)
        }
    }
}
