// libFuzzer entry for the DNS message reader. Built by scripts/fuzz-dns together with the sources of
// Sources/TallyDNS/Message (one module, so internal API is reachable).
//
// Properties checked on every input, besides "does not crash, hang or run out of memory":
// - what the reader accepts, the writer writes, and reading that again gives the same message;
// - every name read prints in a form that parses back to the same name;
// - the signed-message reader agrees with the plain one.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? DNSMessage(decoding: bytes) else { return 0 }
    let signed = try? DNSMessage.decodeSigned(bytes)
    precondition(signed?.message == message, "decodeSigned disagrees with init(decoding:)")
    if message.tsig != nil { precondition(signed?.tsigOffset != nil, "a TSIG record without its offset") }
    for question in message.questions {
        let printed = question.name.description
        precondition((try? DNSName(printed)) == question.name, "\(printed) does not parse back")
    }
    do {
        let again = try DNSMessage(decoding: try message.encoded())
        precondition(again == message, "a message changed in a write and read")
    } catch {
        // Only size can stop a decoded message from being written (compression choices differ).
        precondition(error.kind == .tooLarge, "a decoded message could not be written: \(error)")
    }
    return 0
}
