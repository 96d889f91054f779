import Foundation
import SpillwayLab

/// What one service process of `spillway lab chain` runs, written by the experiment as JSON and read by the hidden
/// `spillway lab chain-service --config FILE`.
package struct ChainServiceOptions: Sendable, Hashable, Codable {
    /// Which tier the process is.
    package enum Role: Sendable, Hashable, Codable {
        /// Service A: one route, `GET /db/write`, a transaction on a random hot row of the PostgreSQL on
        /// `postgresPort`.
        case a(postgresPort: Int)
        /// Service B: `GET /a` calls A on `aPort`; `GET /local` does not.
        case b(aPort: Int)
    }

    package var role: Role
    package var arm: ChainArm
    /// The loopback port to listen on.
    package var port: Int
    package var settings: ChainSettings

    package init(role: Role, arm: ChainArm, port: Int, settings: ChainSettings) {
        self.role = role
        self.arm = arm
        self.port = port
        self.settings = settings
    }

    /// The options as the JSON the child reads.
    package func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain values and enums cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads the options from the JSON file at `path`.
    package static func read(from path: String) throws(LabError) -> ChainServiceOptions {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LabError(.ioFailed, "cannot read \(path): \(error)")
        }
        let options: ChainServiceOptions
        do {
            options = try JSONDecoder().decode(ChainServiceOptions.self, from: data)
        } catch {
            throw LabError(.invalidArgument, "\(path) is not a chain service configuration: \(error)")
        }
        try options.settings.validate()
        guard (1...65_535).contains(options.port) else {
            throw LabError(.invalidArgument, "\(path): port must be between 1 and 65535, got \(options.port)")
        }
        return options
    }
}
