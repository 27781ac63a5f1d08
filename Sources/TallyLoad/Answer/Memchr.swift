#if canImport(Glibc)
import Glibc
#endif

/// `memchr` over bytes: the answer's JWS parts are found in kilobytes of base64url, so the search uses libc's.
func memchrBytes(_ start: UnsafePointer<UInt8>, _ byte: UInt8, _ count: Int) -> UnsafePointer<UInt8>? {
    guard let found = memchr(start, Int32(byte), count) else { return nil }
    return UnsafePointer(found.assumingMemoryBound(to: UInt8.self))
}
