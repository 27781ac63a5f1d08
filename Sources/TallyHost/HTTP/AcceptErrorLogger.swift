import Foundation
import Logging
import NIOCore
import NIOConcurrencyHelpers

/// Logs what goes wrong accepting connections on a port, at most once every 10 s: above all running out of
/// file descriptors (EMFILE, ENFILE), when NIO pauses accepting for a moment and new clients wait in the backlog.
final class AcceptErrorLogger: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel

    let logger: Logger
    let port: String
    private let last = NIOLockedValueBox<NIODeadline?>(nil)

    init(logger: Logger, port: String) {
        self.logger = logger
        self.port = port
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        let due = last.withLockedValue { last -> Bool in
            guard last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            last = now
            return true
        }
        if due {
            var remedy = "see the error"
            if let io = error as? IOError, [EMFILE, ENFILE].contains(io.errnoCode) {
                remedy = "out of file descriptors: raise the open-file limit (LimitNOFILE= in the systemd unit) or lower max-connections"
            }
            logger.error("could not accept a connection", metadata: ["port": "\(port)", "error": "\(error)", "remedy": "\(remedy)"])
        }
        context.fireErrorCaught(error)
    }
}
