import Metrics
import MetricsTestKit
import NIOCore
import NIOPosix
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ProcessPressureTests {
    static func gauge(_ metrics: TestMetrics, _ label: String) throws -> Double {
        try #require(try metrics.expectGauge(label).lastValue)
    }

    #if os(Linux)
    @Test func openFileDescriptorGaugeRisesByTheFilesOpened() throws {
        let metrics = TestMetrics()
        let pressure = ProcessPressure()
        let service = ProcessMetricsService(pressure: pressure, metricsFactory: metrics)
        let count = 64
        // Tests running in parallel open and close descriptors too: a rise short of `count` is measured again, and
        // a sampler that does not count descriptors falls short every time.
        var rise = 0.0
        for _ in 0..<5 where rise < Double(count) {
            service.sample()
            let before = try Self.gauge(metrics, "process_open_fds")
            let files = (0..<count).map { _ in open("/dev/null", O_RDONLY) }
            #expect(files.allSatisfy { $0 >= 0 })
            service.sample()
            rise = try Self.gauge(metrics, "process_open_fds") - before
            for file in files { close(file) }
        }
        #expect(rise >= Double(count), "process_open_fds rose by \(rise) with \(count) more files open")
        #expect(pressure.openFileDescriptors != nil)

        let limit = try Self.gauge(metrics, "process_max_fds")
        var current = rlimit()
        #expect(getrlimit(__rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)), &current) == 0)
        #expect(limit == Double(current.rlim_cur))
        #expect(try Self.gauge(metrics, "process_resident_memory_bytes") > 1_000_000)
        #expect(try Self.gauge(metrics, "process_cpu_seconds_total") > 0)
    }
    #endif

    @Test func unavailableReadingsAreNotPublishedAndNeverTrigger() throws {
        let metrics = TestMetrics()
        let pressure = ProcessPressure()
        let service = ProcessMetricsService(pressure: pressure, metricsFactory: metrics)
        service.publish(ProcessSample(maxFileDescriptors: 1024, cpuSeconds: 1.5))
        #expect(try Self.gauge(metrics, "process_max_fds") == 1024)
        #expect(try Self.gauge(metrics, "process_cpu_seconds_total") == 1.5)
        #expect(try metrics.expectGauge("process_open_fds").lastValue == nil)
        #expect(pressure.openFileDescriptors == nil)
        #expect(pressure.residentMemoryBytes == nil)
        #expect(pressure.maxFileDescriptors == 1024)
    }

    @Test(.timeLimit(.minutes(1)))
    func samplesOnceAtStartThenEveryIntervalUntilCancelled() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let service = ProcessMetricsService(
            interval: .seconds(5),
            pressure: ProcessPressure(),
            metricsFactory: metrics,
            clock: clock
        )
        let running = Task { try await service.run() }
        let samples = { (try? metrics.expectGauge("process_cpu_seconds_total").values.count) ?? 0 }
        await eventually("the first sample, then a sleep") { clock.sleeperCount == 1 }
        #expect(samples() == 1)
        clock.advance(by: .milliseconds(4999))
        await eventually("still asleep") { clock.sleeperCount == 1 }
        #expect(samples() == 1, "no sample before the interval has passed")
        clock.advance(by: .milliseconds(1))
        await eventually("the second sample") { samples() == 2 && clock.sleeperCount == 1 }
        running.cancel()
        try await running.value
        #expect(samples() == 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func blockedEventLoopShowsAsLagAtLeastTheBlock() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let metrics = TestMetrics()
        let pressure = ProcessPressure()
        let interval = Duration.milliseconds(10)
        let probe = EventLoopLagProbe(
            eventLoopGroup: group,
            interval: interval,
            pressure: pressure,
            metricsFactory: metrics
        )
        let running = Task { try await probe.run() }

        await eventually("the probe ran") { pressure.eventLoopLag != nil }
        let healthy = try metrics.expectTimer(EventLoopLagProbe.lagLabel).values
        #expect(!healthy.isEmpty)

        let block = Duration.milliseconds(300)
        group.next().execute {
            // The blocking work under test: the loop's thread is busy for `block` and runs nothing else.
            let clock = ContinuousClock()
            let end = clock.now + block
            while clock.now < end {}
        }
        // A probe is always pending on the loop, due within `interval`: it runs at least `block - interval` late.
        let expected = ProcessPressure.nanoseconds(block - interval)
        let largest = { (try? metrics.expectTimer(EventLoopLagProbe.lagLabel).values.max()) ?? 0 }
        await eventually("a lag of at least \(expected) ns; largest recorded: \(largest()) ns") {
            largest() >= expected
        }

        running.cancel()
        try await running.value
        #expect(pressure.eventLoopLag == nil, "a stopped probe leaves no stale lag for the watermarks")
        try await group.shutdownGracefully()
    }
}
