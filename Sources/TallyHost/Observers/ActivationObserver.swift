import Foundation
import TallyStore

/// What the commit pipeline tells an observer after each group commit: the batch's requests, their stored
/// decisions (`nil` when the batch failed to commit and its requests were answered with an error), and how long
/// each request waited from its arrival in the pipeline until its answer was released.
public struct ObservedBatch: Sendable {
    public var inputs: [ActivationInput]
    public var decisions: [StoredDecision]?
    /// Per request, in the same order.
    public var latencies: [Duration]

    public init(inputs: [ActivationInput], decisions: [StoredDecision]?, latencies: [Duration]) {
        self.inputs = inputs
        self.decisions = decisions
        self.latencies = latencies
    }

    public var size: Int { inputs.count }
    public var committed: Bool { decisions != nil }
}

/// Watches the activation path without changing it (metrics). Called by the pipeline after the commit and just
/// before the batch's answers are released, so an observer must return quickly.
public protocol ActivationObserver: Sendable {
    func observe(_ batch: ObservedBatch)
}
