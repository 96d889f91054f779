import CoreMetrics
import NIOCore
import NIOEmbedded
import Spillway
import Testing

@testable import SpillwayProxy

@Suite("Power of two choices and outlier ejection")
struct BalancingTests {
    private func cluster(
        _ count: Int,
        balancer: ProxyConfiguration.Cluster.Balancer = .leastInflight,
        outliers: ProxyConfiguration.Cluster.OutlierDetection? = .init()
    ) throws -> (UpstreamCluster, UpstreamConnectionPool) {
        let loop = EmbeddedEventLoop()
        let addresses = (0..<count).map { ProxyConfiguration.Address(host: "127.0.0.1", port: 10_000 + $0) }
        var configuration = ProxyConfiguration.Cluster(name: "c", instances: addresses, balancer: balancer)
        configuration.outlierDetection = outliers
        let cluster = UpstreamCluster(
            configuration: configuration,
            socketAddresses: try addresses.map { try SocketAddress(ipAddress: $0.host, port: $0.port) },
            eventLoops: [loop],
            metricsFactory: NOOPMetricsHandler.instance
        )
        return (cluster, try #require(cluster.pool(for: loop)))
    }

    @Test func prefersTheLessLoadedOfTwo() throws {
        let (cluster, pool) = try cluster(4)
        cluster.instances[0].inflight.store(50, ordering: .relaxed)
        cluster.instances[1].inflight.store(50, ordering: .relaxed)
        cluster.instances[2].inflight.store(50, ordering: .relaxed)
        var counts = [0, 0, 0, 0]
        for _ in 0..<2000 { counts[cluster.pick(excluding: nil, pool: pool, now: 0).index] += 1 }
        // Instance 3 wins every draw it is part of: 1 - (3/4 · 2/3) = 1/2 of the picks; the loaded ones share the rest.
        #expect(counts[3] > 850 && counts[3] < 1150)
        #expect(counts[0] > 0 && counts[1] > 0 && counts[2] > 0)
    }

    @Test func ewmaPrefersTheFasterInstance() throws {
        let (cluster, pool) = try cluster(2, balancer: .ewmaLatency)
        cluster.instances[0].recordLatency(nanoseconds: 50_000_000)
        cluster.instances[1].recordLatency(nanoseconds: 5_000_000)
        for _ in 0..<100 { #expect(cluster.pick(excluding: nil, pool: pool, now: 0).index == 1) }
        // A slower sample replaces the average at once (peak EWMA).
        cluster.instances[1].recordLatency(nanoseconds: 80_000_000)
        #expect(cluster.pick(excluding: nil, pool: pool, now: 0).index == 0)
    }

    @Test func skipsEjectedAndExcludedInstancesAndPanicsWhenNoneIsLeft() throws {
        let (cluster, pool) = try cluster(3)
        cluster.instances[0].ejectedUntil.store(1_000, ordering: .relaxed)
        cluster.instances[1].healthy.store(false, ordering: .relaxed)
        for _ in 0..<200 { #expect(cluster.pick(excluding: nil, pool: pool, now: 500).index == 2) }
        // Excluding the only available one: an unavailable instance beats none (panic mode).
        let panic = cluster.pick(excluding: cluster.instances[2], pool: pool, now: 500)
        #expect(panic.index != 2)
        // After the ejection ends, instance 0 is back.
        var seen = Set<Int>()
        for _ in 0..<200 { seen.insert(cluster.pick(excluding: nil, pool: pool, now: 2_000).index) }
        #expect(seen == [0, 2])
    }

    @Test func consecutiveFailuresEjectWithinTheCap() throws {
        let (cluster, _) = try cluster(
            4,
            outliers: .init(
                consecutive5xx: 3,
                consecutiveGatewayFailures: 2,
                baseEjectionTime: .seconds(10),
                maxEjectedPercent: 25
            )
        )
        let detector = cluster.outliers
        let instances = cluster.instances
        // 500s count toward 5xx only; a success in between resets.
        detector.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0)
        detector.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0)
        detector.record(.success, instance: instances[0], cluster: instances, now: 0)
        detector.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0)
        #expect(!instances[0].isEjected(atNanoseconds: 0))
        #expect(detector.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0) == false)
        #expect(detector.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0))
        #expect(instances[0].isEjected(atNanoseconds: 9_999_999_999))
        #expect(!instances[0].isEjected(atNanoseconds: 10_000_000_000))
        // Gateway failures eject after 2, but 25 % of 4 is one instance: the second must wait.
        detector.record(.gatewayFailure, instance: instances[1], cluster: instances, now: 1)
        #expect(detector.record(.serverError(status: 503), instance: instances[1], cluster: instances, now: 1) == false)
        #expect(!instances[1].isEjected(atNanoseconds: 1))
        // Neutral observations (a client's deadline) never count.
        for _ in 0..<10 { detector.record(.neutral, instance: instances[2], cluster: instances, now: 1) }
        #expect(instances[2].consecutiveGatewayFailures.load(ordering: .relaxed) == 0)
    }

    @Test func repeatedEjectionsLastLongerAndTheLastInstanceStays() throws {
        let (cluster, _) = try cluster(
            2,
            outliers: .init(consecutive5xx: 1, baseEjectionTime: .seconds(1), maxEjectedPercent: 100)
        )
        let instances = cluster.instances
        let second: Int64 = 1_000_000_000
        #expect(cluster.outliers.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: 0))
        #expect(instances[0].ejectedUntil.load(ordering: .relaxed) == second)
        // The other instance is the last one standing: never ejected.
        #expect(!cluster.outliers.record(.serverError(status: 500), instance: instances[1], cluster: instances, now: 0))
        #expect(
            cluster.outliers.record(.serverError(status: 500), instance: instances[0], cluster: instances, now: second)
        )
        #expect(instances[0].ejectedUntil.load(ordering: .relaxed) == 3 * second)
        #expect(OutlierDetector.cap(instances: 1, percent: 100) == 0)
        #expect(OutlierDetector.cap(instances: 3, percent: 10) == 1)
    }
}
