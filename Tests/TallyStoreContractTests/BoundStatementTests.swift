import Foundation
import GRDB
import Testing
import TallyCore
import TallyTestSupport
@testable import TallyStore

/// The log rows written and read with SQLite's C API (``BoundStatement``) are the rows GRDB reads back.
@Suite("SQLite log rows bound and read with the C API: the same values as through GRDB")
struct BoundStatementTests {
    @Test("refusals and grants, NULLs and values in every optional column: LogRow(columns:) equals LogRow(row:)")
    func sameRows() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        let store = try SQLiteHostStore(path: fixture.temp.path("host.sqlite"))
        var inputs = (1...26).map { contract.input("m-\($0)") }
        inputs[3].minutesToExpiry = 43_200
        inputs[3].vm = true
        inputs[4].vm = false
        inputs[5].request.sku = "no-such-sku"  // no class: NULL
        inputs[25].minutesToExpiry = -5
        let decided = try await store.decide(inputs, context: contract.context, now: contract.now)
        #expect(decided.contains { $0.decision.grantsTicket })
        #expect(decided.contains { !$0.decision.grantsTicket })

        let sql = "SELECT seq, \(LogRow.columns) FROM events WHERE event_id = 12290 ORDER BY seq"
        let (viaGRDB, viaC) = try await store.log.read { db -> ([LogRow], [LogRow]) in
            let viaGRDB = try Row.fetchAll(db, sql: sql).map { LogRow(row: $0) }
            var viaC: [LogRow] = []
            try BoundStatement(try db.makeStatement(sql: sql), db).forEachRow { viaC.append(LogRow(columns: $0)) }
            return (viaGRDB, viaC)
        }
        #expect(viaC.count == 26)
        #expect(viaC == viaGRDB)
        #expect(viaC[3].vm == true && viaC[3].minutesToExpiry == 43_200)
        #expect(viaC[4].vm == false && viaC[5].productClass == nil && viaC[0].vm == nil)
        #expect(viaC.contains { $0.ticketExpires != nil } && viaC.contains { $0.ticketExpires == nil })
        #expect(viaC[25].minutesToExpiry == -5)

        // A statement given too few values is refused with the SQL named, and nothing is written.
        let refused = try await store.log.write { db -> String in
            var bound = BoundStatement(try LogRow.insertStatement(db), db)
            bound.bind(Int64(999_999))
            do {
                try bound.execute()
                return "executed"
            } catch let error as DatabaseError {
                return error.description
            }
        }
        #expect(refused.contains("1 values bound, 17 expected"))
        #expect(refused.contains("INSERT INTO events"))
        let count = try await store.log.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events WHERE event_id = 12290") }
        #expect(count == 26)
        try await store.close()
    }
}
