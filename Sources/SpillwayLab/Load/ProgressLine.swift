/// One second of a run as the live progress shows it.
package struct ProgressLine: Sendable, Hashable, CustomStringConvertible {
    /// The second that just ended (1-based).
    package var second: Int
    /// New logical requests intended in that second.
    package var offered: Int
    /// Attempts sent, retries included.
    package var attempts: Int
    /// Successes within the caller's end-to-end deadline (from the first intended send).
    package var goodput: Int
    /// Fast refusals (503, 429, 502, 504).
    package var shed: Int
    /// Attempts the client gave up on.
    package var timeouts: Int
    /// Other failures (other statuses, connection errors).
    package var failures: Int
    /// p99 latency of that second's successes, in milliseconds.
    package var p99Milliseconds: Double?
    /// Work the in-process victim completed in that second (its throughput), when there is one.
    package var completedWork: Int?
    /// The protection's concurrency limit, when it has one.
    package var limit: Int?
    /// The worst send lag of the second, in milliseconds.
    package var maxSendLagMilliseconds: Double
    /// Connections open at the end of the second.
    package var openConnections: Int

    package var description: String {
        var line = "  t=\(pad(second, 3))s offered \(pad(offered, 4)) attempts \(pad(attempts, 5))"
        if let completedWork { line += " throughput \(pad(completedWork, 4))" }
        line += " goodput \(pad(goodput, 4)) shed \(pad(shed, 5)) timeouts \(pad(timeouts, 4))"
        if failures > 0 { line += " errors \(pad(failures, 4))" }
        line += " p99 " + (p99Milliseconds.map { "\(pad(Int($0.rounded()), 5))ms" } ?? "     -  ")
        if let limit { line += " limit \(pad(limit, 3))" }
        if maxSendLagMilliseconds > 10 { line += " send-lag \(Int(maxSendLagMilliseconds))ms" }
        return line
    }
}
