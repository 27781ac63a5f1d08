import Foundation
import TallyCore
import TallyStore

/// `GET /api/clients?sku=&state=&class=&limit=&offset=`: one page of clients, newest first.
public struct AdminClientPage: Codable, Sendable {
    public var clients: [ClientRecord]
    public var limit: Int
    public var offset: Int
    /// The offset of the next page, when this one was full.
    public var nextOffset: Int?
}

extension AdminContext {
    static let maximumPage = 1000

    func clients(_ request: AdminRequest) async throws -> AdminClientPage {
        let limit = try AdminContext.integer(request.query["limit"], name: "limit", default: 100, range: 1...AdminContext.maximumPage)
        let offset = try AdminContext.integer(request.query["offset"], name: "offset", default: 0, range: 0...Int(Int32.max))
        let query = ClientQuery(sku: request.query["sku"].nonEmpty, productClass: request.query["class"].nonEmpty,
                                licenseStatus: request.query["state"].nonEmpty, limit: limit, offset: offset)
        let clients = try await store.clients(query)
        return AdminClientPage(clients: clients, limit: limit, offset: offset, nextOffset: clients.count == limit ? offset + limit : nil)
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw TallyError(.usageError, "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? { self.flatMap { $0.isEmpty ? nil : $0 } }
}
