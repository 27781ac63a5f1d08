import NIOConcurrencyHelpers
import NIOCore

/// What the activation port's connections share while the host stops: whether it drains (a request that arrives
/// now is answered 503 and its connection closed), how many requests wait for their answers, and the open
/// connections, so those left idle can be closed.
final class PortState: Sendable {
    private struct State {
        var draining = false
        var inFlight = 0
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = NIOLockedValueBox(State())

    var isDraining: Bool { state.withLockedValue { $0.draining } }

    func requestStarted() { state.withLockedValue { $0.inFlight += 1 } }
    func requestFinished() { state.withLockedValue { $0.inFlight -= 1 } }

    func opened(_ channel: any Channel) {
        state.withLockedValue { $0.channels[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            self.state.withLockedValue { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    func startDraining() { state.withLockedValue { $0.draining = true } }

    /// Requests waiting for answers, and connections open.
    var load: (inFlight: Int, connections: Int) { state.withLockedValue { ($0.inFlight, $0.channels.count) } }

    var openChannels: [any Channel] { state.withLockedValue { Array($0.channels.values) } }
}
