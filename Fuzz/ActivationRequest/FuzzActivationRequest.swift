import Foundation

/// libFuzzer entry: every input goes through the activation port's body decoder. It must return a request or
/// throw a TallyError; a crash, a hang or unbounded memory is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzActivationRequest(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let (body, request) = try ActivationRequestBody.decode(data)
        // A decoded request must satisfy what validation promises.
        precondition(CMID.validate(request.cmid) == request.cmid)
        precondition(body.fingerprint.count == 64)
        precondition(data.count <= ActivationRequestBody.maximumBodyBytes)
    } catch {
        precondition(error.code == .malformedRequest)
    }
    return 0
}
