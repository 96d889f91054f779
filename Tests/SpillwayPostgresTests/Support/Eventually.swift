/// Polls `condition` until it holds or `timeout` passes: for waiting on a real server, never for time-based logic.
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while clock.now < end {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
