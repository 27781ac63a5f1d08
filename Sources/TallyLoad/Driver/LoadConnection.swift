#if canImport(Glibc)
import Glibc
#endif

/// One client connection of a load run: its socket, its copy of the request, and the bytes of the answer so far.
final class LoadConnection {
    enum State {
        /// No request in flight.
        case idle
        /// A non-blocking connect is under way.
        case connecting
        /// The request is not yet all sent.
        case sending
        /// The request is sent; the answer is awaited.
        case waiting
    }

    var fd: Int32 = -1
    var state = State.idle
    /// The epoll events this socket is registered for; 0 when it is not registered.
    var registered: UInt32 = 0
    let request: UnsafeMutablePointer<UInt8>
    let requestLength: Int
    var sent = 0
    var buffer: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var received = 0
    /// When the request was due (paced) or started; latency counts from here.
    var began = 0.0
    /// When it was sent or its connect started, for the timeout.
    var started = 0.0
    /// After an error, the next request waits until then.
    var retryAt = 0.0

    init(template: [UInt8]) {
        requestLength = template.count
        request = .allocate(capacity: template.count)
        request.initialize(from: template, count: template.count)
        capacity = 16 * 1024
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        if fd >= 0 { close(fd) }
        request.deallocate()
        buffer.deallocate()
    }

    var inFlight: Bool { state != .idle }

    /// Room for at least one more read; answers above 1 MiB are refused.
    func reserve() -> Bool {
        guard received == capacity else { return true }
        guard capacity < 1024 * 1024 else { return false }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        larger.update(from: buffer, count: received)
        buffer.deallocate()
        buffer = larger
        capacity *= 2
        return true
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: buffer, count: received) }
}
