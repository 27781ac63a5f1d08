/// What one load run sends: to which port, over how many connections, for how long, and how fast.
public struct LoadConfiguration: Sendable {
    /// The host's activation port on 127.0.0.1.
    public var port: Int
    /// More hosts driven together with the first, on ports of 127.0.0.1: connection `i` goes to
    /// `([port] + otherPorts)[i % count]`, so the connections are shared out evenly.
    public var otherPorts: [Int] = []
    /// Concurrent connections, each with at most one request in flight.
    public var connections: Int
    /// The request; its `keepAlive` decides between one connection per request and kept-alive connections.
    public var template: ActivationRequestTemplate
    /// Seconds during which new requests start; answers to requests in flight at the end are awaited.
    public var duration: Double
    /// Stop after this many requests (a warm-up), whatever the duration.
    public var requestLimit: Int?
    /// Requests per second in all, on a fixed schedule; `nil` sends the next request as soon as a connection's
    /// answer is in. With a rate, latency counts from when a request was due, not from when it was sent, so a
    /// stalled host (or a full set of connections) is not hidden.
    public var rate: Double?
    /// An answer slower than this is an error and its connection is closed.
    public var responseTimeout: Double

    public init(port: Int, connections: Int, template: ActivationRequestTemplate, duration: Double, requestLimit: Int? = nil,
                rate: Double? = nil, responseTimeout: Double = 10, otherPorts: [Int] = []) {
        self.port = port
        self.otherPorts = otherPorts
        self.connections = connections
        self.template = template
        self.duration = duration
        self.requestLimit = requestLimit
        self.rate = rate
        self.responseTimeout = responseTimeout
    }

    /// The port connection `index` talks to.
    func port(ofConnection index: Int) -> Int {
        otherPorts.isEmpty ? port : ([port] + otherPorts)[index % (otherPorts.count + 1)]
    }
}
