import Logging
import SpillwayLab

/// One service process of `spillway lab chain` (A or B), as the hidden `spillway lab chain-service` runs it.
///
/// ```swift
/// let service = try await ChainService.start(try ChainServiceOptions.read(from: path))
/// // … until SIGTERM
/// await service.stop()
/// ```
package final class ChainService: Sendable {
    private enum Running: Sendable {
        case a(DatabaseVictim)
        case b(ChainServiceB)
    }

    private let running: Running
    /// The loopback port it listens on.
    package let port: Int

    private init(_ running: Running, port: Int) {
        self.running = running
        self.port = port
    }

    /// Starts the service `options` describe and returns once it listens.
    package static func start(_ options: ChainServiceOptions) async throws(LabError) -> ChainService {
        let settings = options.settings
        switch options.role {
        case .a(let postgresPort):
            let workload = ChainExperiment.workload(settings)
            let backend = try DatabaseBackend.make(
                options.arm == .unprotected ? .unprotected : .spillway,
                server: LocalPostgres.clientConfiguration(port: postgresPort),
                workload: DatabaseWorkload(
                    rate: settings.rate,
                    writeShare: 1,
                    queries: workload,
                    pool: 100,
                    staticPool: 1
                )
            )
            let victim = try await DatabaseVictim.start(
                backend: backend,
                workload: workload,
                seed: settings.seed,
                port: options.port,
                admission: options.arm != .unprotected
            )
            return ChainService(.a(victim), port: victim.port)
        case .b(let aPort):
            let service = try await ChainServiceB.start(
                arm: options.arm,
                settings: settings,
                aPort: aPort,
                port: options.port
            )
            return ChainService(.b(service), port: service.port)
        }
    }

    /// Stops the server and its clients.
    package func stop() async {
        switch running {
        case .a(let victim): await victim.stop()
        case .b(let service): await service.stop()
        }
    }
}
