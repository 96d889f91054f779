import Spillway

/// Runs the arms of `hot-key` in-process: warm the arm's cache, send the open-loop Zipf-keyed reads on
/// schedule, fire the trigger, record everything on the run's timeline, and derive the lab's figures and this
/// scenario's own (``HotKeyFigures``).
enum HotKeyExperiment {
    /// One arm, run and measured.
    struct ArmResult: Sendable {
        var run: ArmRun
        var figures: HotKeyFigures
    }

    static func run(
        _ scenario: Scenario,
        parameters: HotKeyParameters,
        arm: ArmKind,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmResult {
        let clock = ContinuousClock()
        let duration = scenario.profile.duration
        let ticks = Int((duration.nanoseconds + RunTimeline.tick - 1) / RunTimeline.tick)
        // Warming happens before the epoch, within a budget, so that the recorder exists from the start. A busy
        // machine (a parallel test run) can overrun the budget: then the arm is built again with a longer one.
        var budget = parameters.warmUpBudget
        var attempt = 1
        while true {
            let epoch = clock.now.advanced(by: budget)
            if let prepared = try await prepare(scenario, parameters: parameters, arm: arm, epoch: epoch, ticks: ticks)
            {
                return try await measure(prepared, scenario, parameters: parameters, arm: arm, ticks: ticks, log: log)
            }
            guard attempt < 3 else {
                throw LabError(
                    .serverFailed,
                    "warming \(parameters.keys) keys took longer than \(budget.compactDescription) (third try); "
                        + "the machine is too busy"
                )
            }
            attempt += 1
            budget = budget * 4
        }
    }

    /// Sends the arm's traffic from the prepared timeline's epoch, fires the trigger and derives the figures.
    private static func measure(
        _ prepared: Prepared,
        _ scenario: Scenario,
        parameters: HotKeyParameters,
        arm: ArmKind,
        ticks: Int,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmResult {
        let clock = ContinuousClock()
        let duration = scenario.profile.duration
        let (timeline, recorder, database, handler, cacheClock) = (
            prepared.timeline, prepared.recorder, prepared.database, prepared.handler, prepared.cacheClock
        )

        let arrivals = schedule(scenario, parameters: parameters)
        let deadline = scenario.streams[0].deadline.nanoseconds
        let triggerAt = scenario.triggerStart.nanoseconds
        try? await clock.sleep(until: timeline.epoch, tolerance: nil)
        var triggered = false
        var nextSample = 0
        var lastReported = 0
        let settleTicks = Int((deadline + RunTimeline.tick - 1) / RunTimeline.tick) + 1
        await withTaskGroup(of: Void.self) { group in
            for arrival in arrivals {
                // Wake for the next arrival, the trigger or the next 100 ms sample, whichever comes first.
                while true {
                    let now = timeline.nanoseconds(at: clock.now)
                    if !triggered, now >= triggerAt {
                        triggered = true
                        trigger(
                            parameters.trigger,
                            handler: handler,
                            clock: cacheClock,
                            timeToLive: parameters.timeToLive
                        )
                    }
                    while Int64(nextSample + 1) * RunTimeline.tick <= now, nextSample < ticks {
                        recorder.sample(tick: nextSample, databaseQueue: database.waiting, limit: handler.limit)
                        nextSample += 1
                    }
                    // A second is reported once every request offered in it has met its fate (at the latest, its
                    // client gave up at its deadline).
                    while let log, lastReported < (nextSample - settleTicks) / 10 {
                        lastReported += 1
                        log(progressLine(recorder: recorder, second: lastReported, capacity: database.capacity))
                    }
                    if now >= arrival.offset { break }
                    var wake = arrival.offset
                    if !triggered { wake = min(wake, triggerAt) }
                    wake = min(wake, Int64(nextSample + 1) * RunTimeline.tick)
                    try? await clock.sleep(until: timeline.instant(at: wake), tolerance: .microseconds(200))
                }
                let sent = timeline.nanoseconds(at: clock.now)
                let id = recorder.offered(offset: arrival.offset, lag: sent - arrival.offset)
                let due = arrival.offset + deadline
                // The caches measure time on their own clock (which the `expire` trigger moves).
                let cacheDeadline = Deadline(nanosecondsSinceOrigin: cacheClock.nanosecondsSinceOrigin + (due - sent))
                group.addTask {
                    let outcome = await handler.read(arrival.key, deadline: cacheDeadline)
                    // Past its deadline the client has gone: the recorder has counted (or will count) a timeout.
                    recorder.finished(
                        id,
                        offset: arrival.offset,
                        end: timeline.nanoseconds(at: clock.now),
                        outcome: outcome
                    )
                }
            }
            // Keep sampling until the end of the run, then stop the database so that queued queries end.
            while nextSample < ticks {
                try? await clock.sleep(
                    until: timeline.instant(at: Int64(nextSample + 1) * RunTimeline.tick),
                    tolerance: nil
                )
                recorder.sample(tick: nextSample, databaseQueue: database.waiting, limit: handler.limit)
                nextSample += 1
                while let log, lastReported < (nextSample - settleTicks) / 10 {
                    lastReported += 1
                    log(progressLine(recorder: recorder, second: lastReported, capacity: database.capacity))
                }
            }
            database.close()
        }
        if let log {
            while lastReported < (ticks + 9) / 10 {
                lastReported += 1
                log(progressLine(recorder: recorder, second: lastReported, capacity: database.capacity))
            }
        }
        let (result, hotKeyTicks) = recorder.result(duration: duration)
        let figures = ArmFigures(arm: armName(arm), scenario: scenario, result: result)
        return ArmResult(
            run: ArmRun(arm: arm, result: result, figures: figures),
            figures: HotKeyFigures(scenario: scenario, ticks: hotKeyTicks, databaseCapacity: database.capacity)
        )
    }

    /// One arm built and its cache warmed, ready to run from `timeline`'s epoch.
    private struct Prepared: Sendable {
        var timeline: RunTimeline
        var recorder: HotKeyRecorder
        var database: HotKeyDatabase
        var handler: any HotKeyArm
        var cacheClock: HotKeyClock
    }

    /// Builds the arm and warms its cache; `nil` when warming did not finish before `epoch`.
    private static func prepare(
        _ scenario: Scenario,
        parameters: HotKeyParameters,
        arm: ArmKind,
        epoch: ContinuousClock.Instant,
        ticks: Int
    ) async throws(LabError) -> Prepared? {
        let cacheClock = HotKeyClock()
        let timeline = RunTimeline(epoch: epoch)
        let recorder = HotKeyRecorder(timeline: timeline, tickCount: ticks, deadline: scenario.streams[0].deadline)
        let database = HotKeyDatabase(
            slots: parameters.databaseSlots,
            serviceTime: parameters.databaseTime,
            recorder: recorder
        )
        let handler: any HotKeyArm
        switch arm {
        case .unprotected:
            handler = HotKeyNaiveCache(
                database: database,
                recorder: recorder,
                clock: cacheClock,
                timeToLive: parameters.timeToLive
            )
        case .spillway:
            handler = HotKeySpillwayCache(
                database: database,
                recorder: recorder,
                clock: cacheClock,
                timeToLive: parameters.timeToLive,
                staleWhileRevalidate: parameters.staleWhileRevalidate,
                seed: scenario.seed
            )
        default:
            throw LabError(
                .invalidArgument,
                "hot-key has no \(arm) arm: its arms are unprotected (naive cache-aside) and spillway"
            )
        }
        await handler.warm(keys: 0..<parameters.keys, loadTime: parameters.databaseTime)
        guard ContinuousClock.now < epoch else {
            database.close()
            return nil
        }
        return Prepared(
            timeline: timeline,
            recorder: recorder,
            database: database,
            handler: handler,
            cacheClock: cacheClock
        )
    }

    /// The name of `arm` in `hot-key`'s table.
    static func armName(_ arm: ArmKind) -> String {
        arm == .unprotected ? "naive cache-aside" : "spillway cache"
    }

    struct Arrival: Sendable {
        var offset: Int64
        var key: Int
    }

    /// The run's arrivals (the lab's open-loop schedule) and a Zipf key for each, both from the scenario's seed.
    static func schedule(_ scenario: Scenario, parameters: HotKeyParameters) -> [Arrival] {
        var random = RandomSource.seeded(scenario.seed)
        let offsets = ArrivalSchedule.offsets(profile: scenario.profile, process: scenario.arrivals, random: &random)
        var keys = RandomSource.seeded(scenario.seed, stream: 1)
        let zipf = HotKeyZipf(keys: parameters.keys, exponent: parameters.zipfExponent)
        return offsets.map { Arrival(offset: $0, key: zipf.next(&keys)) }
    }

    private static func trigger(
        _ trigger: HotKeyParameters.Trigger,
        handler: any HotKeyArm,
        clock: HotKeyClock,
        timeToLive: Duration
    ) {
        switch trigger {
        case .flush: handler.flush()
        case .expire: clock.jump(by: timeToLive)
        }
    }

    private static func progressLine(recorder: HotKeyRecorder, second: Int, capacity: Double) -> String {
        let (result, ticks) = recorder.result(duration: .seconds(second))
        let range = ((second - 1) * 10)..<min(second * 10, ticks.count)
        let requests = range.reduce(0) { $0 + ticks[$1].requests }
        let hits = range.reduce(0) { $0 + ticks[$1].hits }
        let arrivals = range.reduce(0) { $0 + ticks[$1].databaseArrivals }
        let sample = result.series.indices.contains(second - 1) ? result.series[second - 1] : nil
        let hitRatio = requests > 0 ? "\(Int((Double(hits) / Double(requests) * 100).rounded()))%" : "-"
        return
            "  t=\(pad(second, 3))s requests \(pad(requests, 5)) hit \(hitRatio) database offered \(pad(arrivals, 5)) "
            + "(\(fixed(Double(arrivals) / capacity, 1))×C) done \(pad(sample?.completedWork ?? 0, 4)) "
            + "goodput \(pad(sample?.goodput ?? 0, 5)) timeouts \(pad(sample?.timeouts ?? 0, 5)) "
            + "shed \(pad(sample?.shed ?? 0, 5))"
    }
}
