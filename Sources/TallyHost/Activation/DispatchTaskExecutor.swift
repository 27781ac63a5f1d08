import Dispatch

/// A task executor on a Dispatch queue of the host's own.
///
/// The activation path and the admin routes run their tasks here instead of on Swift's cooperative pool (one
/// thread per core): whatever else the process does with that pool (an application embedding a host, a test
/// calling the host with blocking sockets from its tasks), a request is still committed and answered.
final class DispatchTaskExecutor: TaskExecutor {
    let queue: DispatchQueue

    init(label: String, concurrent: Bool = false) {
        queue = DispatchQueue(label: label, attributes: concurrent ? [.concurrent] : [])
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
