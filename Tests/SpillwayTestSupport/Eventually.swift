import Testing

/// Waits until `condition` holds, for tests that wait for other tasks or for a live system to reach a state.
///
/// It first yields to the scheduler (enough when the condition depends only on tasks the test started, as with a
/// ``ManualClock``), then polls every millisecond on the real clock until `timeout` has passed. On time-out it records
/// an issue naming `what` and returns `false`.
///
/// ```swift
/// await eventually("the waiter is queued") { limiter.snapshot.queueDepth == 1 }
/// #expect(await eventually(timeout: .milliseconds(150)) { !readiness.isReady })
/// ```
@discardableResult
package func eventually(
    _ what: @autoclosure () -> String = "condition",
    timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async -> Bool {
    for _ in 0..<1_000 {
        if condition() { return true }
        await Task.yield()
    }
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while clock.now < end {
        if condition() { return true }
        // Polling a live system or other threads, not timing logic under test.
        try? await Task.sleep(for: .milliseconds(1))
    }
    if condition() { return true }
    Issue.record("timed out after \(timeout) waiting for \(what())", sourceLocation: sourceLocation)
    return false
}

/// Waits until the asynchronous `condition` holds, polling every `interval` (20 ms: a condition that queries a
/// live server should not flood it) until `timeout` has passed; on time-out it records an issue naming `what` and
/// returns `false`.
///
/// ```swift
/// #expect(await eventually("the replica is probed") { await client.replicaIsAvailable() })
/// ```
@discardableResult
package func eventually(
    _ what: @autoclosure () -> String = "condition",
    timeout: Duration = .seconds(10),
    interval: Duration = .milliseconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async -> Bool
) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while clock.now < end {
        if await condition() { return true }
        // Polling a live system, not timing logic under test.
        try? await Task.sleep(for: interval)
    }
    if await condition() { return true }
    Issue.record("timed out after \(timeout) waiting for \(what())", sourceLocation: sourceLocation)
    return false
}
