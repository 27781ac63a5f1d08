import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, through swift-service-lifecycle's signal handling: re-reads the settings, the certificate and the
/// admin token (``HostRuntime/reload()``).
struct ReloadService: Service {
    let reload: @Sendable () async -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
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
