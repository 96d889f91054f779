/// Parsers for the lab's command-line values, shared by the `spillway` tool.
public enum LabParsing {
    /// Parses `250ms`, `2s`, `1.5s`, `2m` or a bare number of seconds; `nil` for anything else.
    public static func duration(_ text: String) -> Duration? {
        Duration.parsingLab(text)
    }

    /// A compact form of a duration: `750ms`, `2s`, `2.5s`.
    public static func describe(_ duration: Duration) -> String {
        duration.labDescription
    }
}
