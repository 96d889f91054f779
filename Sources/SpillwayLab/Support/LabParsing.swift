/// Parsers for the lab's command-line values, shared by the `spillway` tool.
package enum LabParsing {
    /// Parses `250ms`, `2s`, `1.5s`, `2m` or a bare number of seconds; `nil` for anything else.
    package static func duration(_ text: String) -> Duration? {
        Duration.parsingLab(text)
    }

    /// A compact form of a duration: `750ms`, `2s`, `2.5s`.
    package static func describe(_ duration: Duration) -> String {
        duration.labDescription
    }
}
