import ArgumentParser
import Prometheus
import SpillwayLab

struct LabVictimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "victim",
        abstract: "Serve the lab's unprotected victim on loopback until interrupted.",
        discussion: """
            Routes: GET /work (holds one of --slots slots for --service-time), GET /dependent (the same, then a \
            dependency call), GET /ping (answers at once). Capacity is slots / service time. With --metrics it \
            also serves GET /metrics: Spillway's request, goodput and latency metrics for its routes (measured, \
            never refused), which observability/prometheus/spillway-alerts.yml reads.
            """
    )

    @Option(help: "Loopback port to listen on (0: a free port).")
    var port = 8080

    @Option(help: "Concurrent slots of the modelled bottleneck.")
    var slots = 2

    @Option(name: .customLong("service-time"), help: "How long each request holds a slot (at least 20ms).")
    var serviceTime = "40ms"

    @Flag(help: "Serve GET /metrics (Prometheus text) with Spillway's HTTP metrics for the victim's routes.")
    var metrics = false

    func run() async throws {
        guard let duration = Duration(parsing: serviceTime) else {
            throw ValidationError("'\(serviceTime)' is not a duration (like 40ms)")
        }
        let configuration = try VictimConfiguration(slots: slots, serviceTime: duration)
        let victim = try await Victim.start(
            configuration: configuration,
            port: port,
            metrics: metrics ? PrometheusCollectorRegistry() : nil
        )
        print(
            "victim listening on http://127.0.0.1:\(victim.port) — capacity \(configuration.capacity) req/s; Ctrl-C stops"
        )
        try await waitForInterrupt()
        await victim.stop()
    }
}
