import Testing
@testable import TallyLoad

@Suite("perf samples grouped by where the CPU went")
struct ProfileBreakdownTests {
    static func sample(_ frames: [String]) -> String {
        "  4242 \n" + frames.map { "\tffffffff81415ce4 \($0) (/opt/tally)\n" }.joined() + "\n"
    }

    @Test("each sample goes to the first frame from the leaf that names a group; scheduling passes it up")
    func groups() {
        let text = [
            Self.sample(["CCryptoBoringSSL_fiat_curve25519_adx_mul+0x10", "CCryptoBoringSSL_ED25519_sign", "$s9TallyHost7SigningV4signyyF"]),
            Self.sample(["CCryptoBoringSSL_sha512_block_data_order_nohw", "CCryptoBoringSSL_ED25519_sign"]),
            Self.sample(["_int_malloc", "malloc", "$s20FoundationEssentials11JSONEncoderC6encodeyyF"]),
            Self.sample(["__memmove_avx_unaligned_erms", "$s20FoundationEssentials11JSONEncoderC6encodeyyF"]),
            Self.sample(["finish_task_switch.isra.0", "__schedule", "futex_wait", "pthread_cond_wait@@GLIBC_2.3.2"]),
            Self.sample(["copy_user_generic", "ext4_buffered_write_iter", "vfs_write", "pwrite64", "sqlite3PagerWrite"]),
            Self.sample(["tcp_sendmsg_locked", "__sys_sendto", "$s8NIOPosix6SocketC5write"]),
            Self.sample(["swift_retain", "$s8NIOPosix14ChannelPipelineC4fire"]),
            Self.sample(["$s9TallyCore16ActivationPolicyV6decide"]),
            Self.sample(["[unknown]"]),
        ].joined()
        let profile = ProfileBreakdown(perfScript: text)
        #expect(profile.samples == 10)
        #expect(profile.percent("signing (Ed25519, SHA-512)") == 20)
        #expect(profile.percent("allocation") == 10)
        #expect(profile.percent("JSON and base64url") == 10)
        #expect(profile.percent("locks and wake-ups") == 10)
        #expect(profile.percent("store (SQLite, GRDB, fsync, file system)") == 10)
        #expect(profile.percent("kernel TCP") == 10)
        #expect(profile.percent("reference counting") == 10)
        #expect(profile.percent("Tally (policy, tokens, activation)") == 10)
        #expect(profile.percent("unknown") == 10)
        #expect(profile.groups.first?.name == "signing (Ed25519, SHA-512)")
        #expect(profile.topSymbols.first?.percent == 10)
        #expect(profile.topSymbols.contains { $0.symbol == "CCryptoBoringSSL_fiat_curve25519_adx_mul" })
    }

    @Test("perf's frame lines: offsets and DSOs are dropped")
    func frameLines() {
        #expect(ProfileBreakdown.symbol(of: "\tffffffff81415ce4 __rcu_read_unlock+0x14 ([kernel.kallsyms])") == "__rcu_read_unlock")
        #expect(ProfileBreakdown.symbol(of: "\t    7f785c8f2ad7 [unknown] ([unknown])") == "[unknown]")
        #expect(ProfileBreakdown.symbol(of: "\t7f78 pthread_cond_signal@@GLIBC_2.3.2 (/usr/lib/libc.so.6)") == "pthread_cond_signal@@GLIBC_2.3.2")
        #expect(ProfileBreakdown(perfScript: "").samples == 0)
    }
}
