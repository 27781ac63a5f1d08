import Foundation
import Testing
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` where the log's write-ahead log cannot be laid out: a file-size limit (`ulimit -f`, with
/// SIGXFSZ ignored, as a disk that fills up answers a write) below the layout's 72 MiB but above what the host's
/// files need otherwise.
@Suite("CLI: host serve when the WAL cannot be laid out (ulimit -f)", .serialized)
struct WALLayoutCLITests {
    @Test("the host says why in one warning, takes the zeros back, and activates clients; after a graceful stop every answer is stored")
    func fileSizeLimit() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)

        // 16,384 blocks: 8 MiB in dash's 512-byte blocks (16 MiB in 1 KiB ones); an ignored signal stays ignored
        // across exec, so a write past the limit fails with EFBIG instead of killing the host.
        let (process, port, output, seen) = try FileLimitCLITests.serveInShell(cli, setup: "trap '' XFSZ && ulimit -f 16384")
        defer { if process.isRunning { process.terminate() } }
        var text = seen
        #expect(port > 0, "\(text)")

        // Five machines through the threshold of 5: four refused (count too low), the fifth activated.
        #expect(try AdminCLITests.activateMachines(cli, port: port, names: (1...5).map { "pc-\($0)" }) == [1, 1, 1, 1, 0])
        // The WAL holds what the host wrote, not the zeros it could not finish.
        let wal = fileSize(cli.path("h/host.sqlite-wal")) ?? -1
        #expect(wal >= 0 && wal < 8 << 20)
        process.terminate()
        process.waitUntilExit()
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        let warnings = text.split(separator: "\n").filter { $0.contains("could not lay out the log's write-ahead log") }
        #expect(warnings.count == 1, "\(text)")
        #expect(warnings.first?.contains("File too large") == true, "\(text)")

        let clients = try cli.run("host", "clients", "--json", "--state-dir", "h").json()["clients"] as? [[String: Any]]
        #expect(clients?.count == 5)
    }
}
