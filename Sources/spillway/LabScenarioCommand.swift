import ArgumentParser

/// `spillway lab scenario NAME`: one of the lab's named scenarios with its arms, as `spillway demo --scenario NAME`.
struct LabScenarioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run one named scenario (spike, capacity-drop, dependency-outage, priority, hot-key, database).",
        discussion: """
            The same run as `spillway demo --scenario NAME`; every other option of `spillway demo` may follow the \
            name (for example --quick, --arm spillway, --set factor=5, --json out.json). `spillway demo --list` \
            lists the scenarios and their parameters.
            """
    )

    @Argument(help: "The scenario's name.")
    var name: String

    @Argument(parsing: .captureForPassthrough, help: "Options of `spillway demo`.")
    var options: [String] = []

    func run() async throws {
        let demo = try DemoCommand.parse(["--scenario", name] + options)
        try await demo.run()
    }
}
