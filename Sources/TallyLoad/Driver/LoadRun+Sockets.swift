import CTallyLoad

#if canImport(Glibc)
import Glibc
#endif

extension LoadRun {
    /// Starts a request on connection `index`: fresh CMID, fingerprint, nonce and time; a new connection when
    /// it has none (always, without keep-alive).
    func issue(_ index: Int, began: Double) {
        let connection = connections[index]
        configuration.template.fill(connection.request, random: &random, now: Clocks.unixSeconds())
        issued += 1
        inFlight += 1
        connection.began = began
        connection.started = Clocks.monotonic()
        connection.sent = 0
        connection.received = 0
        connection.state = .sending
        if connection.fd < 0 {
            guard open(connection, port: configuration.port(ofConnection: index)) else {
                fail(index, "connect")
                return
            }
            if connection.state == .connecting {
                register(connection, index: index, events: EPOLLOUT.rawValue)
                return
            }
        }
        send(index)
    }

    /// A non-blocking socket connecting to the host; `state` is `.connecting` unless it connected at once.
    func open(_ connection: LoadConnection, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0, errno != EINPROGRESS {
            close(fd)
            return false
        }
        connection.fd = fd
        connection.registered = 0
        connection.state = result == 0 ? .sending : .connecting
        return true
    }

    func register(_ connection: LoadConnection, index: Int, events: UInt32) {
        guard connection.registered != events else { return }
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(index)
        epoll_ctl(epoll, connection.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, connection.fd, &event)
        connection.registered = events
    }

    /// Sends what is left of the request; waits for the socket to be writable if it cannot all go now.
    func send(_ index: Int) {
        let connection = connections[index]
        let remaining = connection.requestLength - connection.sent
        let count = Glibc.send(connection.fd, connection.request + connection.sent, remaining, Int32(MSG_NOSIGNAL))
        if count == remaining {
            connection.state = .waiting
            register(connection, index: index, events: EPOLLIN.rawValue)
        } else if count >= 0 || errno == EAGAIN || errno == EWOULDBLOCK {
            connection.sent += max(0, count)
            register(connection, index: index, events: EPOLLIN.rawValue | EPOLLOUT.rawValue)
        } else {
            fail(index, "send")
        }
    }

    func handle(_ index: Int, events: UInt32, now: Double) {
        let connection = connections[index]
        let failed = events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
        switch connection.state {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0, !failed || events & EPOLLOUT.rawValue != 0 else {
                fail(index, "connect")
                return
            }
            connection.state = .sending
            send(index)
        case .sending:
            if events & EPOLLOUT.rawValue != 0 { send(index) }
            if events & EPOLLIN.rawValue != 0 || failed { receive(index, now: now) }
        case .waiting:
            receive(index, now: now)
        case .idle:
            // A kept-alive connection the host closed between requests: not an error, the next request reconnects.
            closeConnection(connection)
        }
    }

    /// Reads what has arrived; a whole answer completes the request.
    func receive(_ index: Int, now: Double) {
        let connection = connections[index]
        while true {
            guard connection.reserve() else {
                fail(index, "answer over 1 MiB")
                return
            }
            let count = recv(connection.fd, connection.buffer + connection.received, connection.capacity - connection.received, 0)
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                if errno == EINTR { continue }
                fail(index, errno == ECONNRESET ? "reset" : "recv")
                return
            }
            if count > 0 { connection.received += count }
            switch HTTPResponseScanner.scan(connection.bytes, atEOF: count == 0) {
            case .complete(let head, let total):
                complete(index, head: head, total: total, now: Clocks.monotonic())
                return
            case .invalid:
                fail(index, "not HTTP")
                return
            case .incomplete:
                if count == 0 {
                    fail(index, connection.received == 0 ? "closed before answering" : "closed mid-answer")
                    return
                }
            }
        }
    }

    func complete(_ index: Int, head: HTTPResponseHead, total: Int, now: Double) {
        let connection = connections[index]
        latencies.append(now - connection.began)
        lastAnswer = now
        inFlight -= 1
        statuses[head.status, default: 0] += 1
        if head.status == 200 {
            let answer: ActivationAnswer?
            if head.chunked {
                answer = ActivationAnswer.parse(HTTPResponseScanner.body(connection.bytes, head: head, total: total))
            } else {
                answer = ActivationAnswer.parse(UnsafeBufferPointer(rebasing: connection.bytes[head.length..<total]), scratch: &scratch)
            }
            if let answer {
                results[answer.result, default: 0] += 1
                formats[answer.format, default: 0] += 1
                if answer.granted { grantCounts.append(answer.current ?? -1) }
            } else {
                unreadable += 1
            }
        }
        let extra = total != connection.received
        if extra { errors["bytes after the answer", default: 0] += 1 }
        connection.state = .idle
        connection.received = 0
        if !configuration.template.keepAlive || head.closes || extra { closeConnection(connection) }
        next(index, now: now)
    }

    /// A request that got no answer: counted by `kind`, its connection closed, the next one a little later.
    func fail(_ index: Int, _ kind: String) {
        let connection = connections[index]
        errors[kind, default: 0] += 1
        if connection.inFlight { inFlight -= 1 }
        closeConnection(connection)
        connection.state = .idle
        let now = Clocks.monotonic()
        connection.retryAt = now + 0.01
        next(index, now: now)
    }

    func closeConnection(_ connection: LoadConnection) {
        if connection.fd >= 0 { close(connection.fd) }
        connection.fd = -1
        connection.registered = 0
        connection.received = 0
    }

    /// Requests in flight longer than the timeout are errors.
    func expire(now: Double) {
        for (index, connection) in connections.enumerated() where connection.inFlight && now - connection.started > configuration.responseTimeout {
            fail(index, "timeout")
        }
    }
}
