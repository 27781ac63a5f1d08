import Foundation
import TallyCore
import Testing

@Suite("Result codes")
struct ResultCodeTests {
    @Test("every form tally explain takes parses to 0xC004F038",
          arguments: ["0xC004F038", "0XC004F038", "0xc004f038", "C004F038", "c004f038", "3221549112", "-1073418184", " 0xC004F038 "])
    func parsesEveryForm(_ text: String) {
        #expect(ResultCode.parse(text) == ResultCode(0xC004_F038))
        #expect(ResultCode.parse(text) == .countTooLow)
    }

    @Test("garbage does not parse",
          arguments: ["", " ", "0x", "hello", "C004F03G", "0xC004F038FF", "0xZZZZ", "4294967296", "-2147483649",
                      "C004-F038", "--1", "0x-1", "12.5", "1e3"])
    func garbageGivesNil(_ text: String) {
        #expect(ResultCode.parse(text) == nil, "\(text) parsed")
    }

    @Test("short hex with 0x and small decimals parse")
    func otherForms() {
        #expect(ResultCode.parse("0x0") == .success)
        #expect(ResultCode.parse("0") == .success)
        #expect(ResultCode.parse("0x5") == ResultCode(5))
        #expect(ResultCode.parse("5") == ResultCode(5))
        #expect(ResultCode.parse("4294967295") == ResultCode(0xFFFF_FFFF))
        #expect(ResultCode.parse("-1") == ResultCode(0xFFFF_FFFF))
        #expect(ResultCode.parse("-2147483648") == ResultCode(0x8000_0000))
    }

    @Test("codes print as 0x and eight upper-case hex digits")
    func hexForm() {
        #expect(ResultCode.countTooLow.hex == "0xC004F038")
        #expect(ResultCode.success.hex == "0x00000000")
        #expect(ResultCode(0x5).description == "0x00000005")
        #expect(ResultCode.noDNSServer.hex == "0x8007267C")
        #expect(ResultCode.success.isSuccess)
        #expect(!ResultCode.countTooLow.isSuccess)
    }

    @Test("hex output parses back to the same code for every catalog entry")
    func hexRoundTrip() {
        for info in ResultCode.catalog {
            #expect(ResultCode.parse(info.code.hex) == info.code)
            #expect(ResultCode.parse(String(info.code.rawValue)) == info.code)
            #expect(ResultCode.parse(String(Int32(bitPattern: info.code.rawValue))) == info.code)
        }
    }

    @Test("a code encodes as its hex string and decodes from hex or a number")
    func codable() throws {
        let data = try TallyJSON.encode([ResultCode.countTooLow])
        #expect(String(decoding: data, as: UTF8.self) == #"["0xC004F038"]"#)
        #expect(try TallyJSON.decode([ResultCode].self, from: data) == [.countTooLow])
        #expect(try TallyJSON.decode([ResultCode].self, from: Data("[3221549112]".utf8)) == [.countTooLow])
        #expect(try TallyJSON.decode([ResultCode].self, from: Data(#"["-1073418184"]"#.utf8)) == [.countTooLow])
        #expect(throws: DecodingError.self) { try TallyJSON.decode([ResultCode].self, from: Data(#"["nope"]"#.utf8)) }
    }

    @Test("every catalog entry has a meaning, a remedy and a unique name")
    func catalogEntriesAreComplete() {
        #expect(!ResultCode.catalog.isEmpty)
        for info in ResultCode.catalog {
            #expect(!info.meaning.trimmingCharacters(in: .whitespaces).isEmpty, "\(info.code) has no meaning")
            #expect(!info.remedy.trimmingCharacters(in: .whitespaces).isEmpty, "\(info.code) has no remedy")
            #expect(!info.name.isEmpty)
            #expect(info.code.info == info)
        }
        let names = ResultCode.catalog.map(\.name)
        #expect(Set(names).count == names.count)
        let codes = ResultCode.catalog.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes == codes.sorted())
    }

    @Test("every code docs/ARCHITECTURE.md names has info",
          arguments: ["C004F038", "C004F039", "C004F041", "C004F042", "C004F050", "C004F074", "C004F06C", "8007267C",
                      "8007232A", "8007232B", "8007251D", "C004C008", "C004C003", "C004D307"])
    func designCodesHaveInfo(_ text: String) throws {
        let code = try #require(ResultCode.parse(text))
        let info = try #require(code.info, "\(text) has no catalog entry")
        #expect(info.code == code)
        #expect(!info.meaning.isEmpty)
        #expect(!info.remedy.isEmpty)
    }

    @Test("named constants match KMS's numbers")
    func constants() {
        #expect(ResultCode.countTooLow.rawValue == 0xC004_F038)
        #expect(ResultCode.hostDidNotRespond.rawValue == 0xC004_F039)
        #expect(ResultCode.hostNotActivated.rawValue == 0xC004_F041)
        #expect(ResultCode.skuNotCovered.rawValue == 0xC004_F042)
        #expect(ResultCode.invalidKey.rawValue == 0xC004_F050)
        #expect(ResultCode.noHostContacted.rawValue == 0xC004_F074)
        #expect(ResultCode.clockSkew.rawValue == 0xC004_F06C)
        #expect(ResultCode.noDNSServer.rawValue == 0x8007_267C)
        #expect(ResultCode.dnsServerFailure.rawValue == 0x8007_232A)
        #expect(ResultCode.dnsNameNotFound.rawValue == 0x8007_232B)
        #expect(ResultCode.dnsNoSRVRecords.rawValue == 0x8007_251D)
        #expect(ResultCode.unlockLimitReached.rawValue == 0xC004_C008)
        #expect(ResultCode.keyBlocked.rawValue == 0xC004_C003)
        #expect(ResultCode.rearmLimitReached.rawValue == 0xC004_D307)
    }

    @Test("an unknown code has no info")
    func unknownCode() {
        #expect(ResultCode(0x1234_5678).info == nil)
    }

    @Test("a TallyError takes the catalog remedy unless given one, and compares by code")
    func tallyErrorRemedy() {
        let error = TallyError(.clockSkew, "the clocks differ by 5 hours")
        #expect(error.remedy == ResultCode.clockSkew.info?.remedy)
        #expect(error.description.hasPrefix("0xC004F06C: the clocks differ by 5 hours"))
        let custom = TallyError(.clockSkew, "other", remedy: "do this", hint: "and that")
        #expect(custom.remedy == "do this")
        #expect(custom.description.contains("Hint: and that"))
        #expect(error == custom)
        #expect(TallyError(.success, "x") != custom)
        #expect(TallyError(ResultCode(0x1234_5678), "x").remedy == "No remedy is known for this code.")
    }
}
