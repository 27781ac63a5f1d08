import Foundation
import ServiceLifecycle
import TallyCore
import TallyStore

/// Re-publishes the host's SRV record every 24 hours while it serves (KMS does the same), re-reading the
/// settings each round so `tally host set` and SIGHUP take effect; a reload that changed a DNS setting
/// re-publishes at once (``republishNow()``).
///
/// The wait between rounds is an input, so tests run rounds without waiting for a timer; in production it is a
/// sleep that ``republishNow()`` cuts short, and graceful shutdown ends the loop.
public struct DNSRepublisher: Service {
    public static let interval: Duration = .seconds(24 * 3600)

    /// Makes the publisher for one round from the current settings; `nil` when publishing is off.
    public var makePublisher: @Sendable () -> DNSPublisher?
    public var interval: Duration
    /// Where the rounds' events go.
    public var store: (any HostStore)?
    /// Told every round's outcomes (the host's metrics count them).
    let report: @Sendable ([DNSPublishOutcome]) -> Void
    let trigger = WakeSignal()
    private let continuation: AsyncStream<[DNSPublishOutcome]>.Continuation
    /// Each round's outcomes, newest kept when nobody reads (tests follow the serving host's rounds with it).
    public let rounds: AsyncStream<[DNSPublishOutcome]>

    public init(interval: Duration = DNSRepublisher.interval, store: (any HostStore)? = nil,
                report: @escaping @Sendable ([DNSPublishOutcome]) -> Void = { _ in },
                makePublisher: @escaping @Sendable () -> DNSPublisher?) {
        self.interval = interval
        self.store = store
        self.report = report
        self.makePublisher = makePublisher
        (rounds, continuation) = AsyncStream.makeStream(of: [DNSPublishOutcome].self, bufferingPolicy: .bufferingNewest(8))
    }

    /// Publishes now, then after every `interval`, until cancelled or `rounds` rounds have run.
    public func run(rounds: Int? = nil, wait: @Sendable (Duration) async throws -> Void) async {
        var done = 0
        while !Task.isCancelled {
            let outcomes = await makePublisher()?.publish(recordingIn: store) ?? []
            report(outcomes)
            continuation.yield(outcomes)
            done += 1
            if let rounds, done >= rounds { return }
            do {
                try await wait(interval)
            } catch {
                return
            }
        }
    }

    /// The serving host's loop: until graceful shutdown.
    public func run() async throws {
        let trigger = trigger
        await cancelWhenGracefulShutdown {
            await run(rounds: nil) { interval in
                await trigger.wait(timeout: interval)
                try Task.checkCancellation()
            }
        }
    }

    /// Cuts the wait short: the next round starts now (a reload changed a DNS setting).
    public func republishNow() { trigger.signal() }
}
