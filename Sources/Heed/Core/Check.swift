/// Programmer errors: an op called with shapes, axes or arguments it cannot take.
///
/// Every such check in Heed and HeedNN goes through `check`, never through Swift's
/// `precondition`: at `-O` the standard library drops a precondition's message and the user
/// of a release build sees only "precondition failure" and a backtrace, never the op and the
/// shapes the code spelled out. `check` stops through `fatalError`, which prints its message
/// at every optimisation level (mlx-swift routes its checks through one handler the same way).
///
/// The failure path is out of line and the message an autoclosure, so a passing check costs
/// one predictable branch and builds no string.
///
///     check(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
///
/// Errors in data read from outside (files, text, JSON) are not programmer errors: they are
/// thrown as typed errors naming the file, never checked with this.
@inlinable @inline(__always)
public func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                  file: StaticString = #fileID, line: UInt = #line) {
    if _slowPath(!condition()) { checkFailure(message(), file: file, line: line) }
}

/// Stops with `message` in every build: the unconditional form of `check`.
@inline(never)
public func checkFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
