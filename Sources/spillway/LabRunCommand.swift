import ArgumentParser
import Foundation
import Spillway
import SpillwayLab

struct LabRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Send open-loop load to any HTTP endpoint and report goodput, shedding and latency.",
        discussion: """
            Arrivals follow the schedule whatever the target does; latency is measured from each request's \
            intended send time, and the run is marked invalid when the generator's own send lag p99 exceeds 10 ms.

            Profiles (--profile): constant | step:RATE@T | spike:PEAK@T+L (PEAK may be a factor: 10x) | \
            ramp:RATE | piecewise:D=R,D=R1-R2,…   Retries (--retry): none | naive[:N[@INTERVAL]] | spillway[:N]

            Example: spillway lab run --target http://127.0.0.1:8080/work --rate 35 --duration 10s \
            --profile spike:10x@2s+3s --retry naive:3

            With --slo (like p99=250ms,goodput=99%) the run ends with a verdict: exit status 0 when every objective \
            was met, 1 when one was missed, 2 when the run cannot be judged (the generator fell behind its \
            schedule). Latency terms (p50, p90, p99, p999) bound the successful requests' latency as the caller \
            sees it, retries included; goodput is requests that succeeded within the caller's deadline (from the \
            first send, retries included) ÷ requests offered.
            """
    )

    @Option(help: "The http:// URL to load (host, port and path).")
    var target: String

    @Option(help: "Base rate of new requests per second.")
    var rate: Double = 100

    @Option(help: "How long to send (like 10s).")
    var duration = "10s"

    @Option(help: "Rate profile over the run (see above).")
    var profile = "constant"

    @Option(help: "Arrival process: poisson or constant (evenly spaced).")
    var arrivals = "poisson"

    @Option(help: "The caller's deadline per attempt; the client gives up and closes the connection after it.")
    var deadline = "1s"

    @Option(help: "Client retry behaviour: none, naive, naive:N, naive:N@INTERVAL, spillway or spillway:N.")
    var retry = "none"

    @Option(help: "HTTP method.")
    var method = "GET"

    @Option(name: .customLong("header"), help: "An extra header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "A request body (sent with Content-Length).")
    var body: String?

    @Option(help: "Priority class sent in x-request-priority: critical_plus, critical, sheddable_plus or sheddable.")
    var priority: String?

    @Flag(name: .customLong("no-deadline-header"), help: "Do not send the remaining budget in x-request-timeout-ms.")
    var noDeadlineHeader = false

    @Option(help: "Seed of arrival times (runs with one seed send at the same instants).")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("max-connections"),
        help: "Most connections open at once (a client's pool); further requests wait for a free one (latency counted)."
    )
    var maxConnections = 8192

    @Option(
        name: .customLong("max-pending-connects"),
        help: "Most connects in progress at once; further requests wait for a free connection (latency counted)."
    )
    var maxPendingConnects = 64

    @Option(
        name: .customLong("send-quantum"),
        help: "Timer resolution: send what fell due once per quantum (0ms: at each arrival; at most 100ms)."
    )
    var sendQuantum = "1ms"

    @Option(
        name: .customLong("source-addresses"),
        help: "Spread connections to a 127.x target over this many source addresses, 127.0.0.2 on (1: the kernel's)."
    )
    var sourceAddresses = 16

    enum ReportHelp: LabReportHelp {
        static let json = "Write the results as JSON to this path."
        static let html = "Write a self-contained HTML report to this path."
        static let defaultHTML = "spillway-lab-report.html"
        static let quiet = "No per-second progress lines."
    }

    @OptionGroup var output: LabReportOptions<ReportHelp>

    @Option(help: "Objectives the run must meet, like p99=250ms,goodput=99% (exit status 1 when missed).")
    var slo: String?

    func run() async throws {
        let plan = try makePlan()
        var objective: ServiceLevelObjective?
        if let slo {
            do {
                objective = try ServiceLevelObjective(parsing: slo)
            } catch {
                throw ValidationError(error.message)
            }
        }
        if !output.quiet {
            print(
                "spillway lab run → \(plan.target) for \(plan.profile.duration.compactDescription) (profile \(plan.profile))"
            )
        }
        var progress: (@Sendable (ProgressLine) -> Void)?
        if !output.quiet { progress = { @Sendable line in print(line) } }
        let result = try await LoadGenerator.run(plan, progress: progress)
        print(LabRunReport.text(result, plan: plan))
        let report = LabRunReport(plan: plan, result: result)
        try output.write(json: report.json, html: report.html)
        if !result.isValid {
            print(
                "warning: the run is INVALID: send-lag p99 \(result.sendLag.p99) ms > 10 ms (the generator could not keep up)"
            )
        }
        guard let objective else { return }
        let misses: [String]
        do {
            misses = try objective.misses(in: result)
        } catch {
            print("SLO \(objective): cannot be judged: \(error.message)")
            throw ExitCode(2)
        }
        if misses.isEmpty {
            print("SLO \(objective): met")
        } else {
            print("SLO \(objective): MISSED: " + misses.joined(separator: "; "))
            throw ExitCode(1)
        }
    }

    private func makePlan() throws -> LoadPlan {
        let target = try TargetAddress(parsing: self.target)
        guard let duration = Duration(parsing: self.duration), duration > .zero else {
            throw ValidationError("'\(self.duration)' is not a positive duration (like 10s)")
        }
        guard let deadline = Duration(parsing: self.deadline), deadline > .zero else {
            throw ValidationError("'\(self.deadline)' is not a positive duration (like 1s)")
        }
        guard let sendQuantum = Duration(parsing: self.sendQuantum), LoadPlan.sendQuantumRange.contains(sendQuantum)
        else {
            throw ValidationError(
                "--send-quantum must be a duration from 0ms to 100ms (like 1ms), got '\(self.sendQuantum)'"
            )
        }
        guard LoadPlan.sourceAddressRange.contains(sourceAddresses) else {
            throw ValidationError("--source-addresses must be between 1 and 254, got \(sourceAddresses)")
        }
        guard maxPendingConnects >= 1 else {
            throw ValidationError("--max-pending-connects must be at least 1, got \(maxPendingConnects)")
        }
        guard rate.isFinite, rate >= 0 else { throw ValidationError("--rate must be a non-negative number") }
        guard let arrivals = ArrivalProcess(rawValue: self.arrivals) else {
            throw ValidationError("--arrivals must be poisson or constant")
        }
        var priority: Priority?
        if let text = self.priority {
            guard let parsed = Priority(parsing: text) else {
                throw ValidationError(
                    "unknown priority '\(text)': use critical_plus, critical, sheddable_plus or sheddable"
                )
            }
            priority = parsed
        }
        var headers: [RequestTemplate.Header] = []
        for header in self.headers {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw ValidationError("a header reads 'Name: value', got '\(header)'")
            }
            let name = header[..<colon].trimmingCharacters(in: .whitespaces)
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append(.init(name: name, value: value))
        }
        let stream = TrafficStream(
            name: "default",
            request: RequestTemplate(
                method: method.uppercased(),
                path: target.path,
                headers: headers,
                body: body.map { Array($0.utf8) }
            ),
            priority: priority,
            deadline: deadline,
            retry: try RetryBehaviour(parsing: retry)
        )
        return try LoadPlan(
            target: target,
            profile: try RateProfile(parsing: profile, baseRate: rate, duration: duration),
            arrivals: arrivals,
            streams: [stream],
            seed: seed,
            sendsDeadlineHeader: !noDeadlineHeader,
            maxConnections: maxConnections,
            maxPendingConnects: maxPendingConnects,
            sendQuantum: sendQuantum,
            sourceAddresses: sourceAddresses
        )
    }
}
