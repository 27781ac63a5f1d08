import Foundation

/// Wakes one waiting task early: `wait(timeout:)` returns when `signal()` is called (or was called since the last
/// wait), when the timeout passes, or when the task is cancelled.
package final class WakeSignal: Sendable {
    private let signalled = AsyncSignal()

    package init() {}

    package func signal() { signalled.signal() }

    /// Returns whether it was signalled (not the timeout or a cancellation).
    @discardableResult
    package func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            group.addTask { [signalled] in
                await signalled.wait()
                return !Task.isCancelled
            }
            let signalled = await group.next() ?? false
            group.cancelAll()
            return signalled
        }
    }
}
