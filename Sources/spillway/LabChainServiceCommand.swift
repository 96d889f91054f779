import ArgumentParser
import SpillwayPostgresLab

/// `spillway lab chain-service --config FILE` (hidden): one service process of `spillway lab chain`, started by it.
struct LabChainServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-service",
        abstract: "Serve one tier of `spillway lab chain` (started by it) until SIGTERM.",
        shouldDisplay: false
    )

    @Option(help: "The service's JSON configuration, written by `spillway lab chain`.")
    var config: String

    func run() async throws {
        let options = try ChainServiceOptions.read(from: config)
        let service = try await ChainService.start(options)
        print("chain service listening on http://127.0.0.1:\(service.port)")
        try await waitForInterrupt()
        await service.stop()
    }
}
