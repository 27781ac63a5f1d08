import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Issue 13 item 8: a second host on one machine. The default admin address gives way to a free port and says
/// so in `admin.json`; an admin address that was asked for and is taken fails, naming where it was asked.
@Suite("Admin port: the default gives way when taken; an address asked for does not", .serialized)
struct AdminPortFallbackTests {
    /// A listening TCP socket on 127.0.0.1:`port` (0: any), or `nil` when the port is taken already.
    static func listener(port: UInt16) -> (fd: Int32, port: UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            close(fd)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    @Test("admin-listen at its default and 127.0.0.1:1689 taken: the host starts, its admin port is a free one, admin.json names it")
    func defaultGivesWay() async throws {
        // Taken by this test when free; when another program holds it, it is taken all the same.
        let held = Self.listener(port: 1689)
        defer { if let held { close(held.fd) } }
        let fixture = try ActivatedHost()
        #expect(HostSettings().adminListen == "127.0.0.1:1689")
        let runtime = try await HostRuntime.start(directory: fixture.host.directory, listen: "127.0.0.1:0", adminListen: nil,
                                                  logger: LiveHost.quietLogger, threads: 2)
        let admin = try #require(runtime.admin)
        #expect(admin.address.host == "127.0.0.1" && admin.address.port != 1689 && admin.address.port != 0)
        #expect(AdminEndpoint.read(from: fixture.host.directory)?.address == admin.address.description)
        let health = try AdminHTTP.request("/health", port: admin.address.port)
        #expect(health.status == 200)
        await runtime.shutdown()
    }

    @Test("an admin-listen setting or --admin-listen that is taken: the host does not start, and the error names admin-listen")
    func explicitAddressFails() async throws {
        let taken = try #require(Self.listener(port: 0))
        defer { close(taken.fd) }
        let fixture = try ActivatedHost()
        var settings = HostSettings()
        settings.adminListen = "127.0.0.1:\(taken.port)"
        try settings.save(to: fixture.host.directory)
        do {
            let runtime = try await HostRuntime.start(directory: fixture.host.directory, listen: "127.0.0.1:0", adminListen: nil,
                                                      logger: LiveHost.quietLogger, threads: 2)
            await runtime.shutdown()
            Issue.record("the host started with its admin-listen address taken")
        } catch let error as TallyError {
            #expect(error.message.contains("admin-listen setting 127.0.0.1:\(taken.port)"), "\(error.message)")
            #expect(error.message.contains("taken"), "\(error.message)")
            #expect(error.remedy.contains("tally host set admin-listen"))
        }
        #expect(AdminEndpoint.read(from: fixture.host.directory) == nil)
        do {
            let runtime = try await HostRuntime.start(directory: fixture.host.directory, listen: "127.0.0.1:0", adminListen: "127.0.0.1:\(taken.port)",
                                                      logger: LiveHost.quietLogger, threads: 2)
            await runtime.shutdown()
            Issue.record("the host started with its --admin-listen address taken")
        } catch let error as TallyError {
            #expect(error.message.contains("--admin-listen 127.0.0.1:\(taken.port)"), "\(error.message)")
        }
    }
}
