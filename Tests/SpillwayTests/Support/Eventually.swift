import Testing

/// Yields until `condition` holds, so a test can wait for other tasks to reach a state (e.g. enqueue) without
/// sleeping. Fails the test if the condition does not hold after many scheduler turns.
func eventually(
    _ what: @autoclosure () -> String = "condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async {
    for _ in 0..<100_000 {
        if condition() { return }
        await Task.yield()
    }
    Issue.record("timed out waiting for \(what())", sourceLocation: sourceLocation)
}
