import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// Lays out the log's write-ahead log on disk before the host serves, so that a commit overwrites blocks the file
/// already has instead of making the file longer.
///
/// The log's WAL grows by one frame (a page and 24 bytes) or more per commit until the checkpoint service starts
/// it over (``SQLiteCheckpointService/restartFrames``); from then on commits overwrite it. While it grows, each
/// commit's `fdatasync` also writes the file's new size and its new blocks' metadata, a second synchronous write
/// to the disk: on ext4 here that was `ext4_write_inode` and `fsync_buffers_list`, about a tenth of the host's CPU
/// at one connection, for every commit until the WAL first held 16,384 frames after a start. (PostgreSQL fills its
/// WAL segments with zeros before use for the same reason.)
///
/// So a serving host appends zeros to the WAL up to a whole cycle's size, once, with the log's write lock held
/// (`BEGIN IMMEDIATE`: no frame can be appended meanwhile), and syncs them. Only bytes past the end of the file
/// are written: a frame is valid only with the salt of the WAL's header and the checksums chained from it, so
/// SQLite's recovery stops at the first zero frame, and every frame it wrote is left as it was. A disk too full
/// for the zeros gets them taken back and the host serves as before. On a graceful stop the checkpoint service
/// truncates the WAL (`wal_checkpoint(TRUNCATE)`), so each start lays it out anew: pages a copy of the state
/// directory (a restore, the benchmark's template) left in the cache in large folios are not what commits write to.
enum WALPreallocation {
    /// Frames laid out: a cycle, and an eighth more for what commits add in the checkpoint round that restarts it.
    static let frames = SQLiteCheckpointService.restartFrames + SQLiteCheckpointService.restartFrames / 8

    /// What was done to a WAL.
    enum Outcome: Equatable {
        /// It was extended from `from` to `to` bytes.
        case extended(from: Int, to: Int)
        /// It was already as long (or has no file yet).
        case unchanged
    }

    /// Extends the WAL of `pool`'s database at `path` to ``frames`` frames with zeros, under the write lock.
    static func extend(_ pool: DatabasePool, path: String) throws -> Outcome {
        try pool.writeWithoutTransaction { db in
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            // The WAL's header (32 bytes), then frames of a 24-byte header and a page.
            let target = 32 + frames * (pageSize + 24)
            var outcome = Outcome.unchanged
            try db.inTransaction(.immediate) {
                outcome = try appendZeros(to: path + "-wal", size: target)
                return .commit
            }
            return outcome
        }
    }

    /// Appends zeros to the file at `path` until it is `size` bytes long and syncs them; a file that is missing or
    /// already as long is left alone. On a failed write the file is cut back to its length before.
    static func appendZeros(to path: String, size: Int) throws -> Outcome {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return .unchanged }
            throw WALPreallocationError(path: path, call: "open", code: errno)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw WALPreallocationError(path: path, call: "fstat", code: errno) }
        let start = Int(status.st_size)
        guard start < size else { return .unchanged }
        // One page per call: the kernel caches a write in a folio as large as the write (ext4 on this machine's
        // Linux 6.18), and a commit that then changes 4 KiB of a 1 MiB folio writes the whole folio to the disk at its
        // fdatasync. Zeros written a megabyte at a time made every commit here write 70 KB instead of 9 KB.
        let chunk = [UInt8](repeating: 0, count: 4096)
        var offset = start
        do {
            while offset < size {
                // Up to the next page boundary first, then whole pages.
                let length = min(chunk.count - offset % chunk.count, size - offset)
                let written = chunk.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, length, off_t(offset)) }
                guard written > 0 else { throw WALPreallocationError(path: path, call: "pwrite", code: written < 0 ? errno : ENOSPC) }
                offset += written
            }
            guard fdatasync(descriptor) == 0 else { throw WALPreallocationError(path: path, call: "fdatasync", code: errno) }
        } catch {
            _ = ftruncate(descriptor, off_t(start))
            throw error
        }
        return .extended(from: start, to: size)
    }
}

/// A system call that failed while laying out the WAL.
struct WALPreallocationError: Error, CustomStringConvertible {
    var path: String
    var call: String
    var code: Int32

    var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
}
