import Foundation
import Testing

@testable import SpillwayPostgresLab

@Suite("Pool sweep chart")
struct PoolSweepChartTests {
    static func row(_ size: Int, goodput: Double, p99: Double, gated: Bool = false) -> PoolSweep.Row {
        PoolSweep.Row(
            arm: gated ? "spillway (pool \(size))" : "pool \(size)",
            poolSize: size,
            gated: gated,
            offeredPerSecond: 1_000,
            throughputPerSecond: goodput * 1.2,
            goodputPerSecond: goodput,
            refusedPerSecond: 0,
            failedPerSecond: 0,
            latencyP50Milliseconds: p99 / 3,
            latencyP99Milliseconds: p99,
            poolWaitP99Milliseconds: p99 / 2,
            serverCPUCores: 1.5,
            gateLimit: gated ? 7 : nil,
            generatorLagMilliseconds: 0
        )
    }

    /// The x coordinate of each circle of the series drawn in `color`, in drawing order.
    static func circles(_ svg: String, color: String) -> [Double] {
        svg.components(separatedBy: "<circle ").dropFirst().compactMap { element in
            guard element.contains("fill=\"\(color)\""), let start = element.range(of: "cx=\"")?.upperBound else {
                return nil
            }
            return Double(element[start...].prefix { $0 != "\"" })
        }
    }

    @Test("plots every plain pool on a logarithmic axis, with the gate's goodput as a level")
    func curve() {
        let result = PoolSweep.Result(
            cores: 2,
            capacityEstimatePerSecond: 800,
            offeredPerSecond: 1_200,
            deadlineMilliseconds: 500,
            rows: [
                Self.row(200, goodput: 300, p99: 900),
                Self.row(2, goodput: 500, p99: 400),
                Self.row(20, goodput: 700, p99: 300),
                Self.row(100, goodput: 690, p99: 120, gated: true),
            ]
        )
        let svg = PoolSweepChart(result: result).svg
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        for size in ["2", "20", "200"] { #expect(svg.contains(">\(size)</text>")) }
        #expect(svg.contains("Spillway's gate over a pool of 100: goodput"))
        let goodput = Self.circles(svg, color: "#1f77b4")
        #expect(goodput.count == 3)
        // Sorted by size; 20 sits half-way between 2 and 200 on a log axis.
        #expect(goodput == goodput.sorted())
        if goodput.count == 3 {
            #expect(abs((goodput[1] - goodput[0]) - (goodput[2] - goodput[1])) < 0.5)
        }
    }

    @Test("a sweep of one size still draws a finite chart")
    func single() {
        let result = PoolSweep.Result(
            cores: 2,
            capacityEstimatePerSecond: nil,
            offeredPerSecond: 100,
            deadlineMilliseconds: 500,
            rows: [Self.row(10, goodput: 0, p99: 0)]
        )
        let svg = PoolSweepChart(result: result).svg
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        #expect(Self.circles(svg, color: "#1f77b4").count == 1)
    }
}
