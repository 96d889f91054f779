import ArgumentParser
import Foundation

/// What a lab command says about its report options in `--help`: what its JSON holds, what its HTML page shows and
/// where it goes by default, and what `--quiet` leaves out.
protocol LabReportHelp {
    /// The help of `--json`.
    static var json: String { get }
    /// The help of `--html`.
    static var html: String { get }
    /// Where `--html` writes by default.
    static var defaultHTML: String { get }
    /// The help of `--quiet`.
    static var quiet: String { get }
}

/// `--json`, `--html` and `--quiet`: where a lab command writes its report, and whether it prints as it goes.
struct LabReportOptions<Help: LabReportHelp>: ParsableArguments {
    @Option(help: ArgumentHelp(Help.json))
    var json: String?

    @Option(help: ArgumentHelp(Help.html))
    var html = Help.defaultHTML

    @Flag(help: ArgumentHelp(Help.quiet))
    var quiet = false

    /// Writes `makeJSON()` to `--json` when it is given, then `makeHTML()` to `--html`, printing each path written.
    func write(json makeJSON: () throws -> String, html makeHTML: () throws -> String) throws {
        if let json {
            try Data(makeJSON().utf8).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        try Data(makeHTML().utf8).write(to: URL(fileURLWithPath: html))
        print("wrote \(html)")
    }
}
