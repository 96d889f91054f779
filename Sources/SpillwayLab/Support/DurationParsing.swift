import Spillway

extension Duration {
    /// Parses `250ms`, `2s`, `1.5s`, `2m` or a bare number of seconds; `nil` for anything else, or for negative or
    /// non-finite values.
    static func parsingLab(_ text: some StringProtocol) -> Duration? {
        let trimmed = text.trimmingCharacters(in: " \t")
        let units: [(suffix: String, scale: Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value.isFinite, value >= 0 else { return nil }
            return .seconds(fractional: value * scale)
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return .seconds(fractional: value)
    }

    /// A compact human form: `750ms`, `2s`, `2.5s`.
    var labDescription: String {
        let seconds = self.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\((seconds * 10).rounded() / 10)s"
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> Substring {
        let characters = Set(set)
        guard let start = firstIndex(where: { !characters.contains($0) }) else { return "" }
        let end = lastIndex(where: { !characters.contains($0) })!
        return Substring(self[start...end])
    }
}
