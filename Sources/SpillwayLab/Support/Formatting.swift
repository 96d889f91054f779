import Foundation

/// `value` with `digits` decimals; `-` when it is not finite.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "-" }
    return String(format: "%.\(digits)f", value)
}

/// A rate without a needless decimal: `35`, `17.5`.
func formatRate(_ rate: Double) -> String {
    rate == rate.rounded() ? String(Int(rate)) : String((rate * 10).rounded() / 10)
}

/// `value` right-aligned in `width` columns.
func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// A ratio as a whole percentage: `0.934` → `93%`.
func percent(_ value: Double) -> String {
    "\(Int((value * 100).rounded()))%"
}
