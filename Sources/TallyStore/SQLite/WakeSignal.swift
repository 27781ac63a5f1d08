import Foundation

/// Wakes one waiting task early: `wait(timeout:)` returns when `signal()` is called (or was called since the last
/// wait), when the timeout passes, or when the task is cancelled.
package final class WakeSignal: Sendable {
    private let signalled = AsyncSignal()

    package init() {}

    package func signal() { signalled.signal() }

    package func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { [signalled] in await signalled.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}
