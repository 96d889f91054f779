import ArgumentParser

struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "The overload lab: an open-loop load generator and a modelled victim service.",
        subcommands: [
            LabRunCommand.self, LabScenarioCommand.self, LabVictimCommand.self, LabPoolSweepCommand.self,
            LabSweepCommand.self, JobsWriteSpikeCommand.self,
            LabChainCommand.self, LabChainServiceCommand.self, LabPeerConfigCommand.self,
        ]
    )
}
