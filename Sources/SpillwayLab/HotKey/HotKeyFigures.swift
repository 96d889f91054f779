/// What `hot-key` measures beyond the lab's figures: the load offered to the database against its capacity C,
/// and the cache's hit ratio, per second and in the windows around the trigger.
package struct HotKeyFigures: Sendable, Hashable {
    /// The database's capacity C, in queries per second.
    package var databaseCapacity: Double
    /// The most queries offered to the database in any one-second window from the trigger to the end of the
    /// observation window, ÷ C. Above 1 the database is overloaded: its queue grows.
    package var peakDatabaseLoadRatio: Double
    /// Queries offered to the database during the trigger window ÷ (C × its length).
    package var triggerDatabaseLoadRatio: Double
    /// The longest the database's wait line got.
    package var peakDatabaseQueue: Int
    /// Requests answered from the cache ÷ requests, before the trigger.
    package var hitRatioBefore: Double
    /// The same during the trigger window.
    package var hitRatioTrigger: Double
    /// The same from the end of the trigger window to the end of observation.
    package var hitRatioAfter: Double
    /// Per second: requests answered from the cache ÷ requests.
    package var hitRatioPerSecond: [Double]
    /// Per second: queries offered to the database ÷ C.
    package var databaseLoadPerSecond: [Double]

    init(scenario: Scenario, ticks: [HotKeyRecorder.Tick], databaseCapacity: Double) {
        self.databaseCapacity = databaseCapacity
        let tick = Double(RunTimeline.tick) / 1e9
        let start = ArmFigures.tickIndex(scenario.triggerStart)
        let end = ArmFigures.tickIndex(scenario.triggerEnd)
        let observationEnd = min(ArmFigures.tickIndex(scenario.observationEnd), ticks.count)
        func sum(_ range: Range<Int>, _ value: (HotKeyRecorder.Tick) -> Int) -> Int {
            range.clamped(to: 0..<ticks.count).reduce(0) { $0 + value(ticks[$1]) }
        }
        func hitRatio(_ range: Range<Int>) -> Double {
            let requests = sum(range) { $0.requests }
            return requests > 0 ? Double(sum(range) { $0.hits }) / Double(requests) : 0
        }
        var peak = 0
        if observationEnd - start >= 10 {
            for window in start...(observationEnd - 10) {
                peak = max(peak, sum(window..<(window + 10)) { $0.databaseArrivals })
            }
        }
        peakDatabaseLoadRatio = Double(peak) / databaseCapacity
        let triggerSeconds = Double(max(1, end - start)) * tick
        triggerDatabaseLoadRatio =
            Double(sum(start..<end) { $0.databaseArrivals }) / (databaseCapacity * triggerSeconds)
        peakDatabaseQueue = ticks.map(\.databaseQueue).max() ?? 0
        hitRatioBefore = hitRatio(min(ArmFigures.warmUpTicks, start)..<start)
        hitRatioTrigger = hitRatio(start..<end)
        hitRatioAfter = hitRatio(end..<observationEnd)
        let seconds = (ticks.count + 9) / 10
        hitRatioPerSecond = (0..<seconds).map { hitRatio(($0 * 10)..<($0 * 10 + 10)) }
        databaseLoadPerSecond = (0..<seconds).map {
            Double(sum(($0 * 10)..<($0 * 10 + 10)) { $0.databaseArrivals }) / databaseCapacity
        }
    }

    /// One line for the terminal.
    package var summary: String {
        "database load peak \(fixed(peakDatabaseLoadRatio, 1))×C "
            + "(trigger window \(fixed(triggerDatabaseLoadRatio, 1))×C), "
            + "queue peak \(peakDatabaseQueue); hit ratio before \(percent(hitRatioBefore)), "
            + "trigger \(percent(hitRatioTrigger)), after \(percent(hitRatioAfter))"
    }
}
