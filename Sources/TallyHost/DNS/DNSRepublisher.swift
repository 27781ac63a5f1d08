import Foundation
import TallyCore

/// Re-publishes the host's SRV record every 24 hours while it serves (KMS does the same), re-reading the
/// settings each round so `tally host set` and SIGHUP take effect.
///
/// The wait between rounds is an input, so tests run rounds without waiting for a timer; in production it is
/// `Task.sleep`, and cancelling the task ends the loop.
public struct DNSRepublisher: Sendable {
    public static let interval: Duration = .seconds(24 * 3600)

    /// Makes the publisher for one round from the current settings; `nil` when publishing is off.
    public var makePublisher: @Sendable () -> DNSPublisher?
    public var interval: Duration

    /// Told every round's outcomes (the host's metrics count them).
    let report: @Sendable ([DNSPublishOutcome]) -> Void

    public init(interval: Duration = DNSRepublisher.interval, report: @escaping @Sendable ([DNSPublishOutcome]) -> Void = { _ in },
                makePublisher: @escaping @Sendable () -> DNSPublisher?) {
        self.interval = interval
        self.report = report
        self.makePublisher = makePublisher
    }

    /// Publishes now, then after every `interval`, until cancelled or `rounds` rounds have run.
    public func run(rounds: Int? = nil,
                    wait: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) async {
        var done = 0
        while !Task.isCancelled {
            let outcomes = makePublisher()?.publish() ?? []
            report(outcomes)
            done += 1
            if let rounds, done >= rounds { return }
            do {
                try await wait(interval)
            } catch {
                return
            }
        }
    }
}

extension DNSRepublisher {
    /// The re-publisher for a serving host: settings read from the state directory each round, events into
    /// the host's store, the port the activation server really listens on.
    public init(runtime: HostRuntime) {
        let directory = runtime.directory
        let store = runtime.store
        let port = runtime.address.port
        let clock = runtime.clock
        let logger = runtime.logger
        let metrics = runtime.metrics
        self.init(report: { outcomes in
            for outcome in outcomes { metrics.recordDNSPublish(domain: outcome.domain, succeeded: outcome.succeeded) }
        }) {
            guard let settings = try? HostSettings.load(from: directory), settings.dnsPublishing else { return nil }
            return DNSPublisher(directory: directory, settings: settings, port: port, events: store, clock: { clock.now() }, logger: logger)
        }
    }
}
