import Foundation
import TallyStore

/// What the activation service tells an observer after each group commit: the batch's records, how long each
/// request waited from its decision until its answer was released, and whether the batch was stored.
public struct ObservedBatch: Sendable {
    public var records: [ActivationRecord]
    /// Per record, in the same order: from the decision to the end of the commit (or of the failed attempt).
    public var latencies: [Duration]
    /// `false` when the batch failed to commit and its requests were answered with an error.
    public var committed: Bool

    public init(records: [ActivationRecord], latencies: [Duration], committed: Bool) {
        self.records = records
        self.latencies = latencies
        self.committed = committed
    }

    public var size: Int { records.count }
}

/// Watches the activation path without changing it: metrics, cloned-image detection.
///
/// Called on the committer thread after the commit and just before the batch's answers are released, so an
/// observer must return quickly and hand slow work (store reads) to a thread of its own.
public protocol ActivationObserver: Sendable {
    func observe(_ batch: ObservedBatch)
}

/// Several observers as one.
public struct ActivationObservers: ActivationObserver {
    public var observers: [any ActivationObserver]

    public init(_ observers: [any ActivationObserver]) {
        self.observers = observers
    }

    public func observe(_ batch: ObservedBatch) {
        for observer in observers { observer.observe(batch) }
    }
}
