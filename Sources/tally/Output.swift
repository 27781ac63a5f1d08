import ArgumentParser
import Foundation
import TallyCore

/// `--json` for every command that shows state.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false
}

/// Prints results and failures the same way in every command.
enum Output {
    static func printJSON<T: Encodable>(_ value: T) {
        let data = (try? TallyJSON.encode(value, pretty: true)) ?? Data("{}".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Prints `value` as JSON, or `text` for people.
    /// Text output goes through `Sanitize`: it may hold what a client or a host sent (machine names, messages).
    static func emit<T: Encodable>(_ value: T, json: Bool, text: () -> String) {
        if json { printJSON(value) } else { print(Sanitize.terminal(text(), keepingLineBreaks: true)) }
    }

    struct ErrorBody: Encodable {
        var code: ResultCode
        var name: String?
        var meaning: String?
        var message: String
        var remedy: String
        var hint: String?
    }

    /// Runs a command body; a failure prints its code, meaning and remedy and exits 1.
    static func run(json: Bool, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            try fail(error, json: json)
        }
    }

    /// Runs an async command body, as ``run(json:_:)-(_,()->Void)`` runs a synchronous one.
    static func run(json: Bool, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try fail(error, json: json)
        }
    }

    /// Prints any failure with its code, meaning and remedy and exits 1; an `ExitCode` passes through.
    static func fail(_ error: any Error, json: Bool) throws -> Never {
        switch error {
        case let error as TallyError: fail(error, json: json)
        case let error as ExitCode: throw error
        case let error as TokenError: fail(error.tallyError("the token"), json: json)
        default: fail(TallyError(.usageError, "\(error)"), json: json)
        }
    }

    static func fail(_ error: TallyError, json: Bool) -> Never {
        let info = error.code.info
        if json {
            printJSON(["error": ErrorBody(code: error.code, name: info?.name, meaning: info?.meaning, message: error.message,
                                          remedy: error.remedy, hint: error.hint)])
        }
        var text = "error \(error.code.hex)"
        if let info { text += " (\(info.name)): \(info.meaning)" }
        text += "\n  \(error.message)\n  Remedy: \(error.remedy)"
        if let hint = error.hint { text += "\n  Hint: \(hint)" }
        FileHandle.standardError.write(Data((Sanitize.terminal(text, keepingLineBreaks: true) + "\n").utf8))
        Foundation.exit(1)
    }

    static func iso(_ date: Date?) -> String {
        guard let date else { return "-" }
        return ISO8601DateFormatter().string(from: date)
    }
}

/// Where a role keeps its state: `--state-dir`, else an environment variable, else a default under the home.
struct StateDirOption {
    static func resolve(_ given: String?, environment name: String, role: String) -> String {
        if let given { return given }
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "."
        return home + "/.local/share/tally/" + role
    }
}

extension String {
    func readFileArgument() throws -> String {
        do {
            return try String(contentsOfFile: self, encoding: .utf8)
        } catch {
            throw TallyError(.stateUnreadable, "could not read \(self): \(error.localizedDescription)")
        }
    }
}
