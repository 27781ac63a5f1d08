import Testing
@testable import TallyLoad

@Suite("HTTP response scanner: where an answer ends, fed whole and byte by byte")
struct HTTPResponseScannerTests {
    func scan(_ text: String, atEOF: Bool = false) -> HTTPResponseScanner.Outcome {
        Array(text.utf8).withUnsafeBufferPointer { HTTPResponseScanner.scan($0, atEOF: atEOF) }
    }

    /// The head and total length of a complete response; records an issue when it is not complete.
    func complete(_ text: String, atEOF: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> (HTTPResponseHead, Int)? {
        guard case .complete(let head, let total) = scan(text, atEOF: atEOF) else {
            Issue.record("not complete", sourceLocation: sourceLocation)
            return nil
        }
        return (head, total)
    }

    /// Every proper prefix of `text` is incomplete.
    func expectIncompletePrefixes(_ text: String) {
        let bytes = Array(text.utf8)
        for cut in 0..<bytes.count {
            #expect(Array(bytes[0..<cut]).withUnsafeBufferPointer { HTTPResponseScanner.scan($0) } == .incomplete, "prefix \(cut)")
        }
    }

    @Test("Content-Length: incomplete at every prefix, complete at the last byte, with the status and length")
    func contentLength() {
        let response = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}"
        let bytes = Array(response.utf8)
        expectIncompletePrefixes(response)
        guard let (head, total) = complete(response) else { return }
        #expect(head.status == 200)
        #expect(head.contentLength == 11)
        #expect(!head.closes)
        #expect(total == bytes.count)
        #expect(head.length == bytes.count - 11)
    }

    @Test("a second response after the first is not part of it")
    func pipelinedBytes() {
        let one = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno"
        guard let (head, total) = complete(one + one) else { return }
        #expect(head.status == 503)
        #expect(total == one.utf8.count)
    }

    @Test("chunked bodies end at the zero chunk (with or without trailers) and are de-chunked")
    func chunked() {
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n6;x=y\r\n:\"bcd\"\r\n1\r\n}\r\n0\r\n\r\n"
        let bytes = Array(response.utf8)
        expectIncompletePrefixes(response)
        guard let (head, total) = complete(response) else { return }
        #expect(head.chunked)
        #expect(total == bytes.count)
        let body = bytes.withUnsafeBufferPointer { HTTPResponseScanner.body($0, head: head, total: total) }
        #expect(String(decoding: body, as: UTF8.self) == "{\"a\":\"bcd\"}")
        let trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"
        guard let (_, end) = complete(trailers) else { return }
        #expect(end == trailers.utf8.count)
        #expect(scan("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == .invalid)
    }

    @Test("Connection: close and HTTP/1.0 close; a body without a length ends at EOF")
    func closing() {
        guard let (head, _) = complete("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n") else { return }
        #expect(head.closes)
        guard let (old, _) = complete("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") else { return }
        #expect(old.closes)
        let unframed = "HTTP/1.1 200 OK\r\n\r\nsome body"
        #expect(scan(unframed) == .incomplete)
        guard let (_, total) = complete(unframed, atEOF: true) else { return }
        #expect(total == unframed.utf8.count)
    }

    @Test("what is not an HTTP response is invalid", arguments: [
        "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n",
    ])
    func invalid(_ text: String) {
        #expect(scan(text) == .invalid)
    }
}
