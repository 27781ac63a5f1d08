import ServiceLifecycle

/// The activation port as a service: it serves from the start of the group (it was bound by
/// ``HostRuntime/prepare(directory:options:)``, so its address is known before) and drains on graceful shutdown.
/// It stops before the commit pipeline does, so every request it read gets its committed answer.
struct ActivationPortService: Service {
    let server: HostServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.drain()
    }
}

/// The admin port as a service: stops first, with the DNS re-publisher.
struct AdminPortService: Service {
    let server: AdminServer
    let onStop: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        onStop()
        await server.shutdown()
    }
}
