import Foundation
import TallyFiles
import TallyStore

/// What the admin routes read: the serving host's store, service, metrics, clock and addresses.
public struct AdminContext: Sendable {
    public var directory: StateDirectory
    public var store: SQLiteHostStore
    public var service: ActivationService
    public var metrics: HostMetrics
    public var clock: HostClock
    public var access: AdminAccess
    /// The activation port's address (the bound one).
    public var activationAddress: BindAddress
    public var startedAt: Date

    public init(directory: StateDirectory, store: SQLiteHostStore, service: ActivationService, metrics: HostMetrics, clock: HostClock,
                access: AdminAccess, activationAddress: BindAddress, startedAt: Date) {
        self.directory = directory
        self.store = store
        self.service = service
        self.metrics = metrics
        self.clock = clock
        self.access = access
        self.activationAddress = activationAddress
        self.startedAt = startedAt
    }
}
