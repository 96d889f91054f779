import ArgumentParser
import Spillway

@main
struct SpillwayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spillway",
        abstract: "Overload control for Swift servers: demonstrate, measure and compare.",
        subcommands: [DemoCommand.self, LabCommand.self, JobsCommand.self, ProxyCommand.self]
    )
}
