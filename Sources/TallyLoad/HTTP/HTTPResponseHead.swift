/// What the driver needs from an HTTP/1.1 response head: the status and how the body is framed.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    /// Bytes up to and including the blank line that ends the head.
    public var length: Int
    /// `Content-Length`, when given.
    public var contentLength: Int?
    /// `Transfer-Encoding: chunked`.
    public var chunked: Bool
    /// The host closes the connection after this response (`Connection: close`, or HTTP/1.0 without keep-alive).
    public var closes: Bool

    public init(status: Int, length: Int, contentLength: Int?, chunked: Bool, closes: Bool) {
        self.status = status
        self.length = length
        self.contentLength = contentLength
        self.chunked = chunked
        self.closes = closes
    }
}
