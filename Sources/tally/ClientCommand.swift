import ArgumentParser

/// Placeholder until the client verbs land.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client", abstract: "The client verbs (slmgr-style).")
}
