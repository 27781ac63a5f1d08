#if canImport(Glibc)
import Glibc
#endif

/// The load driver behind `tally bench`: one thread, non-blocking sockets on loopback under epoll, prepared
/// requests and answers read in place. It shares the machine's cores with the host it measures, so it does as
/// little per request as it can (about a send, a receive and an epoll wait) and reports its own CPU.
public struct LoadDriver: Sendable {
    public var configuration: LoadConfiguration

    public init(_ configuration: LoadConfiguration) {
        self.configuration = configuration
    }

    /// Runs on the calling thread until the duration (or request limit) is reached and every request in flight
    /// has its answer, an error or a timeout.
    public func run() throws(LoadError) -> LoadResult {
        let run = try LoadRun(configuration)
        return run.run()
    }
}

/// A run that could not start (no epoll or timer descriptor).
public struct LoadError: Error, CustomStringConvertible {
    public var description: String
}
