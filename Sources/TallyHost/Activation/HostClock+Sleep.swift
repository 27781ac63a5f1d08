import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle
import TallyStore

/// The tasks waiting in ``HostClock/sleep(until:wake:)`` for the clock to reach their deadline.
struct ClockSleepers {
    var next = 0
    var waiting: [Int: (deadline: Date, continuation: CheckedContinuation<Void, Never>)] = [:]
}

extension HostClock {
    /// Waits until this clock reads `deadline` or later, `wake` is signalled, or the task is cancelled.
    ///
    /// On the system clock this is a sleep (in steps of at most a day, so a far deadline does not overflow);
    /// on a manual clock it ends when a test moves the clock past the deadline with ``advance(by:)``, so the
    /// services that wait for hours or days (certificate renewal, report sending) are tested without waiting.
    package func sleep(until deadline: Date, wake: AsyncSignal? = nil) async {
        let manual = isManual
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForAdvance(past: deadline) }
            if !manual {
                let seconds = min(max(0, deadline.timeIntervalSince(now())), 86_400)
                group.addTask { try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
            }
            if let wake { group.addTask { await wake.wait() } }
            await group.next()
            group.cancelAll()
        }
    }

    /// Runs `round` until graceful shutdown or cancellation, then returns. Each round says when the next one is
    /// due (`nil`: only when `wake` is signalled, a reload), and the clock waits for it as ``sleep(until:wake:)``.
    package func repeatRounds(wake: AsyncSignal, _ round: @escaping @Sendable () async -> Date?) async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = await round()
                await self.sleep(until: next ?? .distantFuture, wake: wake)
            }
        }
    }

    /// Returns once the clock has been advanced to `deadline` or later (at once when it already reads that), or
    /// when the task is cancelled.
    private func waitForAdvance(past deadline: Date) async {
        let id = sleepers.withLockedValue { sleepers -> Int in
            sleepers.next += 1
            return sleepers.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = sleepers.withLockedValue { sleepers -> Bool in
                    if Task.isCancelled || now() >= deadline { return true }
                    sleepers.waiting[id] = (deadline, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            sleepers.withLockedValue { $0.waiting.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    /// Resumes every sleeper whose deadline the clock has reached (after ``advance(by:)``).
    func resumeSleepers() {
        let due = sleepers.withLockedValue { sleepers -> [CheckedContinuation<Void, Never>] in
            let current = now()
            let ids = sleepers.waiting.filter { $0.value.deadline <= current }.map(\.key)
            return ids.compactMap { sleepers.waiting.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }
}
