import Logging
import ServiceLifecycle
import UnixSignals

/// The process's signals, through swift-service-lifecycle's signal handling: SIGHUP reloads
/// (``HostRuntime/reload()``), SIGTERM and SIGINT shut the group down gracefully.
///
/// The signals are trapped when the host is prepared, before it prints where it listens, so a signal sent the
/// moment a script reads that line is handled, not the default action (which would end the process at once).
struct SignalService: Service {
    let signals: UnixSignalsSequence
    let reload: @Sendable () async -> Void
    let shutDown: @Sendable () async -> Void

    func run() async throws {
        for await signal in signals.cancelOnGracefulShutdown() {
            if signal == .sighup {
                await reload()
            } else {
                await shutDown()
            }
        }
    }
}

/// Waits for graceful shutdown and does nothing else: the place of a service that is switched off, so the
/// group's shape (and its shutdown order) stays the same.
struct IdleService: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
