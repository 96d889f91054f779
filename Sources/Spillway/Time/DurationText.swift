/// Durations as people write them in command lines and configuration files: `250ms`, `1.5s`, `2m`.
extension Duration {
    /// Parses a number followed by a unit — `us`, `ms`, `s` or `m` — or a bare number of seconds (`1.5`); spaces
    /// and tabs around it are ignored. `nil` for anything else, and for negative or non-finite values; very large
    /// values are clamped (see ``seconds(fractional:)``).
    ///
    /// ```swift
    /// Duration(parsing: "250ms")   // .milliseconds(250)
    /// Duration(parsing: "2m")      // .seconds(120)
    /// Duration(parsing: "soon")    // nil
    /// ```
    package init?(parsing text: some StringProtocol) {
        var trimmed = Substring(text)
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        var scale = 1.0
        let units = [("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0)]
        for (suffix, unitScale) in units where trimmed.hasSuffix(suffix) {
            trimmed = trimmed.dropLast(suffix.count)
            scale = unitScale
            break
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        self = .seconds(fractional: value * scale)
    }

    /// A compact form that ``init(parsing:)`` reads back: `750ms`, `2s`, `2.5s` (tenths of a second above 1 s).
    package var compactDescription: String {
        let seconds = self.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\((seconds * 10).rounded() / 10)s"
    }
}
