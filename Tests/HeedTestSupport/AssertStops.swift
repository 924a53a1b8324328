import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Asserts that `body` stops the process (a failed `check`, i.e. `fatalError`) and that what it
/// printed on standard error contains `message`.
///
/// `body` runs in a forked child so the test process survives: the child's standard error goes
/// to a pipe the parent reads, and the child must die by a signal (`fatalError` traps). Keep
/// `body` to work the child can do alone: after `fork` only the calling thread exists (Heed's
/// own pool then runs every share on it, but Dispatch or OpenBLAS threads would hang), and the
/// child is killed after `timeout` seconds. Swift's crash backtracer is switched off for the child, which only makes
/// its output shorter.
public func assertStops(containing message: String, timeout: Double = 20,
                        file: StaticString = #filePath, line: UInt = #line, _ body: () -> Void) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { XCTFail("assertStops: pipe failed", file: file, line: line); return }
    fflush(nil)  // nothing buffered may be written twice, by parent and child
    let pid = fork()
    if pid == 0 {
        close(fds[0])
        dup2(fds[1], 2)
        close(fds[1])
        setenv("SWIFT_BACKTRACE", "enable=no", 1)
        body()
        // Reached only when `body` did not stop: report it through the exit status.
        _exit(0)
    }
    close(fds[1])
    guard pid > 0 else { close(fds[0]); XCTFail("assertStops: fork failed", file: file, line: line); return }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    let deadline = Date().addingTimeInterval(timeout)
    var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
    while Date() < deadline {
        let ready = poll(&poller, 1, 100)
        if ready < 0 && errno == EINTR { continue }
        if ready <= 0 { continue }
        let n = read(fds[0], &chunk, chunk.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += chunk[0..<n]
    }
    close(fds[0])
    // The pipe closes while the child exits, a moment before it can be reaped.
    var status: Int32 = 0
    var reaped = false
    while !reaped && Date() < deadline {
        reaped = waitpid(pid, &status, WNOHANG) == pid
        if !reaped { usleep(1000) }
    }
    if !reaped {
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        XCTFail("assertStops: the child did not stop within \(timeout) s", file: file, line: line)
        return
    }
    let text = String(decoding: output, as: UTF8.self)
    // WIFSIGNALED: the low 7 bits hold the signal, neither 0 (exited) nor 0x7F (stopped).
    let signal = status & 0x7F
    XCTAssertTrue(signal != 0 && signal != 0x7F,
                  "assertStops: the body returned (exit status \((status >> 8) & 0xFF)) instead of stopping; it printed: \(text)",
                  file: file, line: line)
    XCTAssertTrue(text.contains(message), "assertStops: expected a message containing \(message.debugDescription), got: \(text)",
                  file: file, line: line)
}
