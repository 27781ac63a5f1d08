import NIOCore

/// A task executor on a session's own event loop: the work of a call to PostgreSQL (the statement, its rows, the
/// round trip that proves the commit) runs on the thread that reads the session's socket.
///
/// A continuation PostgresNIO resumes from that loop then runs on it in the same turn, where a task on a Dispatch
/// queue was woken on another thread for each step: a batch cost six hand-offs between threads (to the queue,
/// to the loop to send, back for the rows, to the loop for the commit's proof, back, and to the committer), then
/// two (to the loop, and back to the committer), and none since the host's committer runs on the deciders' loop
/// too (``PostgresSessionPool/decidersExecutor``, ``HostStore/commitExecutor``).
///
/// Only short, non-blocking work may run here: PostgresNIO's calls, decoding a batch's few rows
/// (``PostgresSessionPool/Placement``), and the committer's own
/// work between batches (taking a batch, building its statement's values, handing out the answers).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
