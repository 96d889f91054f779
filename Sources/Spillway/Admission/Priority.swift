/// The importance of a request, used to decide who is shed first under overload.
///
/// Four classes, after Google's criticality levels (CRITICAL_PLUS, CRITICAL, SHEDDABLE_PLUS, SHEDDABLE).
/// Admission control gives its capacity to the higher classes first: a waiting higher-class request is served
/// before any lower-class one, and a full queue evicts from the lowest class. CoDel drops a waiter for its age only
/// when the queue of its own class stands, so a class that is served at once is never dropped because lower classes
/// queue (``CoDelConfiguration``).
///
/// ```swift
/// let priority = Priority(parsing: request.headers["x-priority"] ?? "") ?? .critical
/// try await limiter.withPermit(priority: priority) { try await handle(request) }
/// ```
public enum Priority: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Work that may be dropped first: prefetches, batch jobs, retries of optional features.
    case sheddable = 0
    /// Work that may be dropped, but after ``sheddable``.
    case sheddablePlus = 1
    /// Normal user-facing traffic (the default).
    case critical = 2
    /// Traffic whose loss is an outage: health-critical and revenue paths. Shed last.
    case criticalPlus = 3

    public static func < (lhs: Priority, rhs: Priority) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The stable lower-case label used in headers and metrics (`critical_plus`, `critical`, `sheddable_plus`,
    /// `sheddable`).
    public var label: String {
        switch self {
        case .criticalPlus: "critical_plus"
        case .critical: "critical"
        case .sheddablePlus: "sheddable_plus"
        case .sheddable: "sheddable"
        }
    }

    public var description: String { label }

    /// Parses a priority from a header value: the labels above in any case, with `-` or `_`
    /// (`CRITICAL_PLUS`, `critical-plus`), or the raw numbers `0`…`3`. Returns `nil` for anything else.
    public init?(parsing text: some StringProtocol) {
        let normalized = text.trimmingSpaces.lowercased().replacing("-", with: "_")
        switch normalized {
        case "critical_plus", "3": self = .criticalPlus
        case "critical", "2": self = .critical
        case "sheddable_plus", "1": self = .sheddablePlus
        case "sheddable", "0": self = .sheddable
        default: return nil
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let scalars = self[...]
        guard let start = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let end = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return Substring(scalars[start...end])
    }
}
