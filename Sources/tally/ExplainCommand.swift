import ArgumentParser
import TallyCore

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Print what a result code means and what to do about it.",
        discussion: "CODE may be 0xC004F038, C004F038, 3221549112 or -1073418184 (also as `tally explain -- -1073418184`)."
    )

    /// Collected unparsed so a negative decimal such as -1073418184 is not taken for an option; the usual
    /// `tally explain -- -1073418184` works too (the `--` is kept in what is collected, and dropped here).
    @Argument(parsing: .allUnrecognized, help: "The result code.")
    var words: [String] = []

    /// The words given, without a `--` that ends the options.
    var codeWords: [String] { words.filter { $0 != "--" } }

    var code: String { codeWords.joined() }

    @OptionGroup var output: OutputOptions

    struct Explanation: Encodable {
        var code: ResultCode
        var name: String
        var meaning: String
        var remedy: String
        var decimal: UInt32
        var signedDecimal: Int32
    }

    func run() throws {
        try Output.run(json: output.json) {
            guard codeWords.count == 1 else { throw TallyError(.usageError, "give one result code, e.g. `tally explain C004F038`") }
            guard let parsed = ResultCode.parse(code) else {
                throw TallyError(.usageError, "'\(code)' is not a result code", remedy: "Give the code as 0xC004F038, C004F038, 3221549112 or -1073418184.")
            }
            guard let info = parsed.info else {
                throw TallyError(.usageError, "\(parsed.hex) is not a code Tally knows",
                                 remedy: "Check the code; `tally explain` knows every code Tally reports (see README).")
            }
            let explanation = Explanation(code: parsed, name: info.name, meaning: info.meaning, remedy: info.remedy,
                                          decimal: parsed.rawValue, signedDecimal: Int32(bitPattern: parsed.rawValue))
            Output.emit(explanation, json: output.json) {
                "\(parsed.hex) \(info.name)\n  Meaning: \(info.meaning)\n  Remedy:  \(info.remedy)"
            }
        }
    }
}
