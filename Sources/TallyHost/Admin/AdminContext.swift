import Foundation
import TallyFiles
import TallyStore

/// What the admin routes read: the serving host's store, pipeline, metrics, clock and addresses.
public struct AdminContext: Sendable {
    public var directory: StateDirectory
    public var store: any HostStore
    public var pipeline: CommitPipeline
    public var state: ActivationState
    public var metrics: HostMetrics
    public var clock: HostClock
    public var access: AdminAccess
    /// The activation port's address (the bound one).
    public var activationAddress: BindAddress
    public var startedAt: Date

    public init(directory: StateDirectory, store: any HostStore, pipeline: CommitPipeline, state: ActivationState, metrics: HostMetrics,
                clock: HostClock, access: AdminAccess, activationAddress: BindAddress, startedAt: Date) {
        self.directory = directory
        self.store = store
        self.pipeline = pipeline
        self.state = state
        self.metrics = metrics
        self.clock = clock
        self.access = access
        self.activationAddress = activationAddress
        self.startedAt = startedAt
    }

    /// The count and threshold per class of the host's certificate, every decision so far included.
    func counts() async throws -> [String: (current: Int, required: Int)] {
        let counts = try await store.counts(now: clock.now())
        var result: [String: (Int, Int)] = [:]
        for (productClass, threshold) in state.thresholds() { result[productClass] = (counts[productClass] ?? 0, threshold) }
        return result
    }
}
