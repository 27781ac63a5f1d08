/// What a load run saw: every answer counted by HTTP status and by result code, latencies, errors, and the
/// count each grant reported (to check that every new CMID was counted exactly once).
public struct LoadResult: Sendable {
    /// Complete HTTP answers received.
    public var answers: Int
    /// From the first request to the last answer.
    public var seconds: Double
    /// Latency percentiles over every answer, in seconds: 50th, 99th, and the slowest.
    public var p50: Double
    public var p99: Double
    public var max: Double
    /// Answers that took more than 2 ms.
    public var over2Milliseconds: Int
    /// Answers by HTTP status.
    public var statuses: [Int: Int]
    /// HTTP 200 answers by result code (`res`).
    public var results: [UInt32: Int]
    /// HTTP 200 answers by body format.
    public var formats: [ActivationAnswer.Format: Int]
    /// HTTP 200 answers that were neither format, or had no readable `res`.
    public var unreadable: Int
    /// Requests that got no complete answer, by what went wrong (connect, send, recv, closed, timeout).
    public var errors: [String: Int]
    /// `cur` of every grant, in the order the answers came.
    public var grantCounts: [Int]
    /// CPU of the driver's thread during the run.
    public var driverCPUSeconds: Double
    /// The user-space part of it (the rest is the kernel's).
    public var driverUserCPUSeconds: Double
    /// The machine during the run (``MachineStalls``); `nil` when the probe thread could not start.
    public var machine: MachineStalls?

    /// Answers with result 0.
    public var grants: Int { results[0] ?? 0 }
    /// Everything that was not a readable HTTP 200 answer, or got no answer.
    public var problems: Int { errors.values.reduce(0, +) + unreadable + statuses.filter { $0.key != 200 }.values.reduce(0, +) }
}
