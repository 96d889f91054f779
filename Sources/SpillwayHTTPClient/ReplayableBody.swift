import AsyncHTTPClient

/// Whether a request body can be sent more than once.
///
/// A body given as bytes (`.bytes(_:)` with a `ByteBuffer` or a collection) is replayable; a stream
/// (`.stream(_:length:)`) or a one-pass sequence is consumed by the first attempt, and sending it again would send
/// nothing (or fail with a length mismatch). AsyncHTTPClient keeps this knowledge internal (it uses it itself to
/// decide whether a redirect may be followed), so it is read by reflection; a body whose kind cannot be read is
/// treated as not replayable, which only costs a retry.
enum ReplayableBody {
    static func isReplayable(_ body: HTTPClientRequest.Body?) -> Bool {
        guard let body else { return true }
        guard let mode = Mirror(reflecting: body).children.first(where: { $0.label == "mode" })?.value,
            let kind = Mirror(reflecting: mode).children.first
        else { return false }
        switch kind.label {
        case "byteBuffer":
            return true
        case "sequence":
            let fields = Mirror(reflecting: kind.value).children
            return fields.first { $0.label == "canBeConsumedMultipleTimes" }?.value as? Bool ?? false
        default:
            return false
        }
    }
}
