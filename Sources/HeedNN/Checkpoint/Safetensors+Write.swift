import Foundation
import Glibc
import Heed

extension SafetensorsFile {
    /// Writes named tensors as F32 safetensors, with string metadata, atomically.
    ///
    /// The bytes depend only on the set of (name, tensor) pairs and the metadata, not on their
    /// order: `__metadata__` comes first (omitted when empty, as the reference library does),
    /// then the tensors sorted by name in UTF-8 byte order (Python's `sorted`), each entry's
    /// keys sorted; the data follow in the same order. The header is padded with spaces to a
    /// multiple of 8 bytes so the buffer starts 8-byte aligned, as the reference library pads it.
    ///
    /// Atomic: the file is written to a temporary file in the same directory, flushed to disk,
    /// then renamed over `url` (and the directory flushed), so a crash or an error mid-save
    /// leaves either the previous file or the new one, never a torn checkpoint; the temporary
    /// files of saves that were killed are removed by the next save to the same name. Names
    /// are checked before anything touches the disk. The new file gets mode 0644 less the umask;
    /// if `url` is a symbolic link, the link itself is replaced.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws(SafetensorsError) {
        try write(entries: tensors.map { name, t in
            RawEntry(name: name, dtype: .f32, shape: t.shape) { body in t.withUnsafeBufferPointer { body(UnsafeRawBufferPointer($0)) } }
        }, metadata: metadata, to: url)
    }

    /// One tensor to write in any dtype: its bytes, little-endian, handed to `body`.
    public struct RawEntry {
        public let name: String
        public let dtype: SafetensorsDtype
        public let shape: [Int]
        let bytes: ((UnsafeRawBufferPointer) -> Int32?) -> Int32?

        public init(name: String, dtype: SafetensorsDtype, shape: [Int],
                    bytes: @escaping ((UnsafeRawBufferPointer) -> Int32?) -> Int32?) {
            (self.name, self.dtype, self.shape, self.bytes) = (name, dtype, shape, bytes)
        }

        /// `values` as `dtype` (whose byte size must be T's).
        public init<T>(name: String, dtype: SafetensorsDtype, shape: [Int], values: [T]) {
            check(MemoryLayout<T>.size == dtype.byteSize && values.count == shape.reduce(1, *),
                  "SafetensorsFile.RawEntry '\(name)': \(values.count) values of \(T.self) for \(dtype.rawValue) \(shape)")
            self.init(name: name, dtype: dtype, shape: shape) { body in values.withUnsafeBytes { body($0) } }
        }
    }

    /// `write` for tensors of any dtype (int8 codes, bf16 bits, …): the same layout, order and
    /// atomicity.
    public static func write(entries tensors: [RawEntry], metadata: [String: String] = [:],
                             to url: URL) throws(SafetensorsError) {
        let path = url.path
        var seen = Set<String>()
        for name in tensors.map(\.name) {
            if name.isEmpty { throw .invalidName(file: path, name: name, reason: "empty") }
            if name == "__metadata__" { throw .invalidName(file: path, name: name, reason: "reserved for the metadata") }
            // Set<String> uses canonical equivalence, as the reader does: such names could not
            // be told apart when loading.
            if !seen.insert(name).inserted { throw .invalidName(file: path, name: name, reason: "appears more than once") }
        }
        let ordered = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let header = encodeHeader(ordered.map { ($0.name, $0.dtype, $0.shape) }, metadata: metadata)

        let directory = url.deletingLastPathComponent().path
        let tempPrefix = ".\(url.lastPathComponent).tmp-"
        removeStaleTemporaries(in: directory, prefix: tempPrefix)
        let temp = directory + "/" + tempPrefix + "\(getpid())-\(String(UInt64.random(in: 0 ... .max), radix: 36))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(file: path, operation: "create temporary file \(temp)", code: errno) }

        do throws(SafetensorsError) {
            if let code = header.withUnsafeBytes({ writeAll(fd, $0) }) {
                throw .io(file: path, operation: "write to \(temp)", code: code)
            }
            for entry in ordered {
                if let code = entry.bytes({ writeAll(fd, $0) }) {
                    throw .io(file: path, operation: "write to \(temp)", code: code)
                }
            }
            // Without this, the rename can reach the disk before the data, and a power cut
            // leaves an empty file under the checkpoint's name.
            guard fsync(fd) == 0 else { throw .io(file: path, operation: "fsync \(temp)", code: errno) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard close(fd) == 0 else {
            let code = errno
            unlink(temp)
            throw .io(file: path, operation: "close \(temp)", code: code)
        }
        guard rename(temp, path) == 0 else {
            let code = errno
            unlink(temp)
            throw .io(file: path, operation: "rename \(temp) over it", code: code)
        }
        // Makes the rename itself durable. Best effort: the new file is already complete and in
        // place, and some file systems refuse fsync on a directory.
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Deletes `prefix<pid>-<random>` files in `directory` whose process is gone: what a save
    /// killed between creating its temporary file and renaming it leaves behind. A live
    /// process's file (a save running now, this process's own included) is left alone.
    /// Best effort: a file that cannot be listed or removed stays, and the save goes on.
    static func removeStaleTemporaries(in directory: String, prefix: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix),
                  let pid = name.dropFirst(prefix.count).split(separator: "-", maxSplits: 1).first.flatMap({ pid_t($0) }),
                  pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// The header bytes for F32 tensors laid out back to back in the given order.
    static func encodeHeader(_ entries: [(name: String, dtype: SafetensorsDtype, shape: [Int])], metadata: [String: String]) -> [UInt8] {
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            members.append(jsonStringLiteral("__metadata__") + ":{"
                           + pairs.map { jsonStringLiteral($0.key) + ":" + jsonStringLiteral($0.value) }.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, dtype, shape) in entries {
            let end = offset + dtype.byteSize * shape.reduce(1, *)
            members.append(jsonStringLiteral(name) + ":{\"data_offsets\":[\(offset),\(end)],\"dtype\":\"\(dtype.rawValue)\",\"shape\":["
                           + shape.map(String.init).joined(separator: ",") + "]}")
            offset = end
        }
        var json = Array(("{" + members.joined(separator: ",") + "}").utf8)
        json += [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * $0)) }
        bytes += json
        return bytes
    }

    /// Writes every byte, retrying short writes and interrupted calls; returns errno on failure.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }  // a regular file never accepts 0 bytes of a non-empty write
            done += n
        }
        return nil
    }
}
