import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import TallyCore

/// At most `maxConnections` sessions to the shared store, each with Tally's session settings (`lock_timeout`,
/// `statement_timeout`, `idle_in_transaction_session_timeout`, `synchronous_commit = on`) sent in its startup
/// message, so no session ever runs without them.
///
/// Every use is bounded by the configuration's deadline: a store that is stopped refuses at once, one that hangs
/// (an unreachable address, a stopped process) is given up after the deadline and its session closed, so a
/// request waits about a second, never longer. A session that failed in any way is closed, never reused: the
/// next use opens a new one, which is how the host serves again once PostgreSQL is back.
final class PostgresSessionPool: Sendable {
    let configuration: PostgresStoreConfiguration
    let logger: Logger
    private let state: LockedValue<PoolState>
    private let connectionConfiguration: PostgresConnection.Configuration
    /// Connecting, waiting for a session and closing one run on a queue of the store's own, never on the
    /// cooperative pool: a process whose pool threads are busy (a test with blocking sockets, an embedding
    /// application) still has its store answer. The activation path runs on its session's event loop (``Placement``).
    private let executor = DispatchTaskExecutor(label: "tally.store.postgres", concurrent: true)
    /// Every round trip of every session, for `/metrics` and `tally bench`.
    let roundTrips = PostgresRoundTrips()
    /// The event loop of the activation path's sessions, and an executor on it for the host's committer
    /// (``PostgresHostStore/commitExecutor``): a batch then goes from the committer to its session and back
    /// without another thread.
    let decidersLoop: any EventLoop = PostgresConnection.defaultEventLoopGroup.next()
    let decidersExecutor: EventLoopTaskExecutor

    private struct PoolState {
        var idle: [PostgresConnection] = []
        var open = 0
        var nextID = 1
        /// Callers waiting for a session, by id: whoever removes one (a release, its deadline, its cancellation,
        /// the pool's close) resumes it, so each is resumed exactly once.
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
        var closed = false
    }

    init(configuration: PostgresStoreConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        state = LockedValue(PoolState())
        decidersExecutor = EventLoopTaskExecutor(decidersLoop)
        let tls: PostgresConnection.Configuration.TLS
        switch configuration.sslMode {
        case .disable:
            tls = .disable
        case .require:
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
        case .verifyFull:
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.certificateVerification = .fullVerification
            if let caFile = configuration.caFile { tlsConfiguration.trustRoots = .file(caFile) }
            tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
        }
        var connection = PostgresConnection.Configuration(host: configuration.url.host, port: configuration.url.port, username: configuration.url.user,
                                                          password: configuration.password, database: configuration.url.database, tls: tls)
        connection.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout.milliseconds))
        if configuration.sslMode == .verifyFull { connection.options.tlsServerName = configuration.url.host }
        connection.options.additionalStartupParameters = [
            ("application_name", "tally-host \(configuration.hostID)"),
            ("lock_timeout", "\(configuration.lockTimeout.milliseconds)ms"),
            ("statement_timeout", "\(configuration.statementTimeout.milliseconds)ms"),
            ("idle_in_transaction_session_timeout", "\(configuration.idleInTransactionTimeout.milliseconds)ms"),
            ("synchronous_commit", "on"),
            // Prepared statements (and the function's query) are planned for each execution's values: a generic
            // plan made while the tables were small keeps scanning them whole once they are large.
            ("plan_cache_mode", "force_custom_plan"),
            ("TimeZone", "UTC"),
        ]
        connectionConfiguration = connection
    }

    /// Where the work of a call on a session runs.
    enum Placement {
        /// The store's queue: a read that may decode many rows (clients, events), so it never holds up a batch on
        /// another session of the same loop.
        case storeQueue
        /// The session's event loop (``EventLoopTaskExecutor``), its deadline a task scheduled there, so no other
        /// thread takes part until the outcome resumes the caller: the derive rounds, whose rows are few.
        case itsLoop
        /// The same, on a session on ``decidersLoop`` if one is idle or may be opened: the activation path, whose
        /// committer runs on that loop.
        case decidersLoop
    }

    /// Runs `body` on a session, within `deadline` (the configuration's by default), where `placement` says. A
    /// failed session is closed.
    func withSession<T: Sendable>(_ what: String, deadline: Duration? = nil, on placement: Placement = .storeQueue,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let limit = deadline ?? configuration.deadline
        let session = try await acquire(what, deadline: limit, on: placement == .decidersLoop ? decidersLoop : nil)
        do {
            let work = { @Sendable in try await body(session) }
            let value = try await placement == .storeQueue ? bounded(limit, session: session, work) : bounded(limit, on: session, work)
            release(session, healthy: true)
            return value
        } catch {
            release(session, healthy: false)
            throw PostgresStoreError.wrap(what, error)
        }
    }

    /// Runs `body` on a session for maintenance off the activation path: within the configuration's
    /// `maintenanceDeadline` (each statement bounded by `statement_timeout`), after which the session is closed and
    /// the caller given an error, whatever the body still waits for.
    func withMaintenanceSession<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withSession(what, deadline: configuration.maintenanceDeadline, body)
    }

    /// Runs `body` on a session, bounded by the sessions' `statement_timeout` only (copying a store into this one,
    /// which may take long); connecting is bounded by the deadline as always.
    func withSessionInPlace<T>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let session = try await acquire(what, deadline: configuration.deadline)
        do {
            let value = try await body(session)
            release(session, healthy: true)
            return value
        } catch {
            release(session, healthy: false)
            throw PostgresStoreError.wrap(what, error)
        }
    }

    /// Runs `body` or gives up after `limit`, closing the session so the body's pending query fails. The caller
    /// never waits past the deadline, not even for a body that does not end when its session closes: the work runs
    /// in a task of its own, cancelled and left to finish by itself.
    ///
    /// `late` gets a value that came after the caller gave up (a session that connected too late, to be closed).
    func bounded<T: Sendable>(_ limit: Duration, session: PostgresConnection?, late: (@Sendable (T) -> Void)? = nil,
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let executor = executor
        return try await FirstOutcome<T>.first { outcome in
            let work = Task(executorPreference: executor) {
                do {
                    let value = try await body()
                    if !outcome.finish(.success(value)) { late?(value) }
                } catch { outcome.finish(.failure(error)) }
            }
            let timer = Task(executorPreference: executor) {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, outcome.finish(.failure(PostgresStoreError.timedOut(limit))) else { return }
                if let session { let _: EventLoopFuture<Void> = session.close() }
                work.cancel()
            }
            outcome.onFinish { timer.cancel() }
        }
    }

    /// The same on the session's event loop, the deadline a task scheduled there (see ``withSession``).
    private func bounded<T: Sendable>(_ limit: Duration, on session: PostgresConnection,
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let loop = session.eventLoop
        let executor = loop === decidersLoop ? decidersExecutor : EventLoopTaskExecutor(loop)
        return try await FirstOutcome<T>.first { outcome in
            let work = Task(executorPreference: executor) {
                do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
            }
            let timer = loop.scheduleTask(in: TimeAmount(limit)) {
                guard outcome.finish(.failure(PostgresStoreError.timedOut(limit))) else { return }
                let _: EventLoopFuture<Void> = session.close()
                work.cancel()
            }
            outcome.onFinish { timer.cancel() }
        }
    }

    /// A session: an idle one (on `loop` first, when given), else a new one (on `loop`), else the next released.
    private func acquire(_ what: String, deadline: Duration, on loop: (any EventLoop)? = nil) async throws -> PostgresConnection {
        let started = ContinuousClock.now
        while true {
            enum Next { case use(PostgresConnection), open(Int), wait, closed }
            let next = state.withLock { state -> Next in
                if state.closed { return .closed }
                for index in state.idle.indices.reversed() where state.idle[index].isClosed {
                    state.idle.remove(at: index)
                    state.open -= 1
                }
                if let loop, let index = state.idle.lastIndex(where: { $0.eventLoop === loop }) {
                    return .use(state.idle.remove(at: index))
                }
                if loop == nil || state.open >= configuration.maxConnections, let session = state.idle.popLast() { return .use(session) }
                if state.open < configuration.maxConnections {
                    state.open += 1
                    state.nextID += 1
                    return .open(state.nextID)
                }
                return .wait
            }
            switch next {
            case .use(let session):
                return session
            case .closed:
                throw TallyError(.storeUnavailable, "the store is closed")
            case .open(let id):
                do {
                    let connection = connectionConfiguration
                    let logger = logger
                    let (host, port, trips) = (configuration.url.host, configuration.url.port, roundTrips)
                    return try await bounded(min(deadline, configuration.connectTimeout), session: nil, late: { session in
                        let _: EventLoopFuture<Void> = session.close()
                    }) {
                        try await Self.connect(host: host, port: port, on: loop, configuration: connection, roundTrips: trips, id: id, logger: logger)
                    }
                } catch {
                    released(slot: true)
                    throw PostgresStoreError.wrap("connect to \(configuration.url) to \(what)", error)
                }
            case .wait:
                let left = deadline - (ContinuousClock.now - started)
                if left <= .zero { throw PostgresStoreError.timedOut(deadline) }
                try await waitForRelease(upTo: left)
            }
        }
    }

    /// Waits until a session may be free (a release, the pool's close), at most `limit`; then the caller looks
    /// again. Checked again under the lock: a release between the caller's look and here finds no waiter to wake,
    /// so the session it left must be seen now. Cancelled, it throws.
    private func waitForRelease(upTo limit: Duration) async throws {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        // Removes the waiter if it is still there; whoever removes it resumes it.
        let remove = { @Sendable [state] () -> CheckedContinuation<Void, Never>? in
            state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
        }
        let timer = Task(executorPreference: executor) {
            try? await Task.sleep(for: limit)
            remove()?.resume()
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.closed || !state.idle.isEmpty || state.open < configuration.maxConnections { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            remove()?.resume()
        }
        try Task.checkCancellation()
    }

    /// A session over a socket of our own making, so that ``PostgresRoundTrips`` counts its flushes; otherwise as
    /// PostgresNIO connects (its event loops, `loop` when given; the configuration's connect timeout, TLS and
    /// startup parameters).
    private static func connect(host: String, port: Int, on loop: (any EventLoop)?, configuration: PostgresConnection.Configuration,
                                roundTrips: PostgresRoundTrips, id: Int, logger: Logger) async throws -> PostgresConnection {
        let channel = try await ClientBootstrap(group: loop ?? PostgresConnection.defaultEventLoopGroup.next())
            .connectTimeout(configuration.options.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(roundTrips.handler()) }
            }
            .connect(host: host, port: port).get()
        var established = PostgresConnection.Configuration(establishedChannel: channel, tls: configuration.tls, username: configuration.username,
                                                           password: configuration.password, database: configuration.database)
        established.options = configuration.options
        do {
            return try await PostgresConnection.connect(on: channel.eventLoop, configuration: established, id: id, logger: logger)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func release(_ session: PostgresConnection, healthy: Bool) {
        if healthy && !session.isClosed {
            // A session released after the pool closed (a batch in flight at close) is closed, not kept: nothing
            // would ever take or close it again.
            let kept = state.withLock { state -> (kept: Bool, waiter: CheckedContinuation<Void, Never>?) in
                guard !state.closed else { return (false, nil) }
                state.idle.append(session)
                return (true, state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation)
            }
            kept.waiter?.resume()
            if kept.kept { return }
        }
        Task(executorPreference: executor) { try? await session.close() }
        released(slot: true)
    }

    private func released(slot: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if slot { state.open -= 1 }
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation
        }
        waiter?.resume()
    }

    /// Closes every idle session; sessions in use close when released.
    func close() async {
        let (idle, waiters) = state.withLock { state -> ([PostgresConnection], [(id: Int, continuation: CheckedContinuation<Void, Never>)]) in
            state.closed = true
            defer { state.idle = []; state.waiters = [] }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume() }
        for session in idle { try? await session.close() }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// The first of several outcomes resumes the continuation; the rest are dropped.
final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var finished = false
        var onFinish: (@Sendable () -> Void)?
    }

    private let state = LockedValue(State())

    /// Runs `start` with a new outcome and returns the first result any of its parties finishes it with; a
    /// cancelled caller gets `CancellationError` at once.
    static func first(_ start: (FirstOutcome<T>) -> Void) async throws -> T {
        let outcome = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.start(continuation)
                start(outcome)
            }
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
        }
    }

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.finished { return true }
            state.onFinish = action
            return false
        }
        if now { action() }
    }

    /// Returns whether this outcome was the first.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (first, continuation, action) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (false, nil, nil) }
            state.finished = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil; state.onFinish = nil }
            return (true, state.continuation, state.onFinish)
        }
        continuation?.resume(with: result)
        action?()
        return first
    }
}
