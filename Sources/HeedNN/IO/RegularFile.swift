import Glibc

/// A regular file opened for reading: the one way HeedNN's readers open what a user names.
///
/// Opened with `O_NONBLOCK`, then checked with `fstat` on the open descriptor (no window
/// between the check and the open): a FIFO given as a checkpoint or a data file would
/// otherwise block `open` until some writer appeared, forever, and a device such as
/// /dev/zero would never end. Anything but a regular file is refused with a reason naming
/// its kind. (On a regular file `O_NONBLOCK` changes nothing.)
///
/// Each reader wraps a `Failure` in its own typed error, which names the file.
final class RegularFile {
    let path: String
    let descriptor: Int32
    /// The size `fstat` reported at open.
    let size: Int

    enum Failure: Error, Equatable {
        /// A system call failed with this errno (ENOENT: no file at the path).
        case system(operation: String, code: Int32)
        /// The path names something else: "a directory", "a FIFO (named pipe)", ….
        case notRegular(kind: String)
        /// Larger than the reader allows for such a file.
        case tooLarge(size: Int, limit: Int)

        /// What went wrong, for a message that already names the file.
        var reason: String {
            switch self {
            case let .system(operation, code):
                return operation == "open" ? String(cString: strerror(code)) : "\(operation): \(String(cString: strerror(code)))"
            case let .notRegular(kind): return "is \(kind), not a regular file"
            case let .tooLarge(size, limit): return "\(size) bytes is more than the \(limit)-byte limit for this file"
            }
        }

        var isMissing: Bool { self == .system(operation: "open", code: ENOENT) }
    }

    init(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", code: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .system(operation: "fstat", code: code)
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw .notRegular(kind: RegularFile.name(of: kind))
        }
        self.path = path
        descriptor = fd
        size = Int(st.st_size)
    }

    deinit { close(descriptor) }

    private static func name(of kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "of an unknown kind"
        }
    }

    /// Fills `buffer` from byte `offset` on; returns how many bytes it got (fewer only at the
    /// end of the file). Retries short and interrupted reads.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Failure) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "read", code: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The most a text or JSON file of a model folder may hold (vocab.txt of a 250k-token
    /// vocabulary is a few MB).
    static let textLimit = 256 << 20

    /// The whole file, refused before anything is allocated when it is larger than `limit`
    /// (text and JSON files have no business being gigabytes; a sparse 20 GB file must not
    /// abort the process).
    func readAll(limit: Int) throws(Failure) -> [UInt8] {
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        var bytes = [UInt8](repeating: 0, count: size)
        // The buffer accessor rethrows untyped errors: the result comes out as a value.
        let n = bytes.withUnsafeMutableBytes { b in Result { () throws(Failure) in try read(into: b, at: 0) } }
        bytes.removeLast(size - (try n.get()))  // fewer when the file shrank while being read
        return bytes
    }
}
