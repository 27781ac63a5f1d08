import ArgumentParser

/// `tally`: one binary for the vendor, the host and the client. Each command group lives in its own file and
/// only parses arguments and prints; the work is done in the library targets.
@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "KMS-style volume activation for a vendor's own products.",
        subcommands: [DemoCommand.self, VendorCommand.self, HostCommand.self, ClientCommand.self, DoctorCommand.self, ExplainCommand.self, BenchCommand.self]
    )
}
