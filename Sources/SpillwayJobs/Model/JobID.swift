/// The identity of a job, stable for its whole life: from enqueue through retries, the dead-letter queue and replay.
///
/// IDs are never reused, also after a job is pruned or discarded, so a `Location: /jobs/ID` handed to a client
/// keeps naming the same job.
///
/// ```swift
/// let id = try await store.enqueue(SendEmail(to: "ada@example.com"))
/// print("/jobs/\(id)")                       // "/jobs/42"
/// let same = JobID("42")                     // parsed back from a path or the command line
/// ```
public struct JobID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    /// The numeric value, as stored in the database.
    public var rawValue: Int64

    /// The job with numeric id `rawValue`.
    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Parses a decimal id; `nil` for anything else (signs, spaces, overflow).
    public init?(_ description: String) {
        guard !description.isEmpty, description.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = Int64(description), value > 0
        else { return nil }
        self.rawValue = value
    }

    /// The id as a decimal number, as `spillway jobs` prints and accepts it.
    public var description: String { String(rawValue) }

    /// Ids order as their numbers: older jobs first.
    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes the id from a plain number.
    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    /// Encodes the id as a plain number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
