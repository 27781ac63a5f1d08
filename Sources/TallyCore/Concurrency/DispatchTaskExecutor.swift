import Dispatch

/// A task executor on a Dispatch queue of the host's own.
///
/// The host's activation path and admin routes, and the vendor's service, run their tasks here instead of on
/// Swift's cooperative pool (one thread per core): whatever else the process does with that pool (an application
/// embedding a host, a test calling a server with blocking sockets from its tasks), a request is still answered.
package final class DispatchTaskExecutor: TaskExecutor {
    let queue: DispatchQueue

    package init(label: String, concurrent: Bool = false) {
        queue = DispatchQueue(label: label, attributes: concurrent ? [.concurrent] : [])
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
