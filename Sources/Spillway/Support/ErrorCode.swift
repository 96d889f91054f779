/// The kind of a Spillway error: one of the codes its error type names, with a stable label for metrics and logs.
///
/// Every Spillway error has a `code` of this type, `ErrorCode<ThatError>` (spelt `ThatError.Code`), so each error
/// declares only its codes and codes of different errors never compare equal. Compare a code with `==` or match
/// it in a `catch` clause; ``label`` is what metrics and logs print.
///
/// ```swift
/// do {
///     return try await pipeline.execute { try await fetch() }
/// } catch let error as ResilienceError where error.code == .circuitOpen {
///     print(error.code.label)   // "circuit_open"
///     return cachedValue
/// }
/// ```
public struct ErrorCode<Domain>: Sendable, Hashable, CustomStringConvertible {
    /// A stable label for metrics, logs and response bodies (`circuit_open`, `invalid_argument`, …).
    public let label: String

    /// The code labelled `label`; an error type declares each of its codes with it, once.
    package init(_ label: String) {
        self.label = label
    }

    /// The label.
    public var description: String { label }
}
