import ArgumentParser
import Foundation

/// Checks for options that name files, made in `validate()` before any work: a wrong path is a
/// usage error (exit status 64) that names the option, not a failure after the data has loaded.
enum OptionCheck {
    /// What is at `path`: nil when nothing, else "a directory", "a regular file", "a FIFO", ….
    static func kind(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFREG: return "a regular file"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// An existing regular file (a checkpoint to read).
    static func readableFile(_ path: String, _ option: String) throws {
        guard let k = kind(path) else { throw ValidationError("\(option) \(path): no such file") }
        guard k == "a regular file" else { throw ValidationError("\(option) \(path): is \(k), not a regular file") }
        guard access(path, R_OK) == 0 else { throw ValidationError("\(option) \(path): not readable") }
    }

    /// A file that can be read as a stream of lines: a regular file, a FIFO or a device
    /// (`<(cmd)` and /dev/stdin are fine), but not a directory.
    static func readableStream(_ path: String, _ option: String) throws {
        guard let k = kind(path) else { throw ValidationError("\(option) \(path): no such file") }
        guard k != "a directory" else { throw ValidationError("\(option) \(path): is a directory, not a file of texts") }
        guard access(path, R_OK) == 0 else { throw ValidationError("\(option) \(path): not readable") }
    }

    /// An existing directory.
    static func directory(_ path: String, _ option: String) throws {
        guard let k = kind(path) else { throw ValidationError("\(option) \(path): no such directory") }
        guard k == "a directory" else { throw ValidationError("\(option) \(path): is \(k), not a directory") }
    }

    /// A file that can be created or replaced: its directory exists and is writable, and the
    /// path itself is not a directory.
    static func writableFile(_ path: String, _ option: String) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard kind(parent) == "a directory" else {
            throw ValidationError("\(option) \(path): the directory \(parent) does not exist")
        }
        guard access(parent, W_OK) == 0 else { throw ValidationError("\(option) \(path): the directory \(parent) is not writable") }
        if let k = kind(path), k == "a directory" { throw ValidationError("\(option) \(path): is a directory") }
    }

    /// `value` in `range`, else a usage error naming the option.
    static func inRange<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    /// A finite number ≥ 0 (a learning rate, a weight decay).
    static func nonNegativeFinite(_ value: Float, _ option: String) throws {
        guard value.isFinite && value >= 0 else {
            throw ValidationError("\(option) must be a finite number ≥ 0 (got \(value))")
        }
    }
}
