import Foundation
import TallyCore
import TallyStore

/// `GET /api/events?since=ISO8601&after=SEQ&id=12290&limit=`: events in order; `lastSeq` is what to pass as
/// `after` to read on.
public struct AdminEventPage: Codable, Sendable {
    public var events: [StoredEvent]
    public var lastSeq: Int64?
}

extension AdminContext {
    func events(_ request: AdminRequest) async throws -> AdminEventPage {
        var since: Date?
        if let text = request.query["since"].nonEmpty {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw TallyError(.usageError, "since must be an ISO 8601 time such as 2026-11-01T00:00:00Z")
            }
            since = date
        }
        var after: Int64?
        if let text = request.query["after"].nonEmpty {
            guard let seq = Int64(text), seq >= 0 else { throw TallyError(.usageError, "after must be an event sequence number") }
            after = seq
        }
        var id: EventID?
        if let text = request.query["id"].nonEmpty {
            guard let number = Int(text), let known = EventID(rawValue: number) else {
                throw TallyError(.usageError, "no event id \(text); ids: " + EventID.allCases.map { String($0.rawValue) }.joined(separator: ", "))
            }
            id = known
        }
        let limit = try AdminContext.integer(request.query["limit"], name: "limit", default: 1000, range: 1...10_000)
        let events = try await store.events(EventQuery(since: since, afterSeq: after, id: id, limit: limit))
        return AdminEventPage(events: events, lastSeq: events.last?.seq ?? after)
    }
}
