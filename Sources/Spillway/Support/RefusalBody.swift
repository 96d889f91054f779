/// The small JSON body and the `Retry-After` value with which Spillway answers a request it refuses (`429` rate
/// limited, `503` overloaded, `504` deadline), written once for the Hummingbird middleware and the proxy, so that
/// both send the same bytes:
///
/// ```json
/// {"error":"overloaded","reason":"queue_full","priority":"critical","retry_after_s":1}
/// ```
package enum RefusalBody {
    /// The body: `error` (the kind of refusal), `reason` (a stable label), the request's `priority` when known,
    /// and `retry_after_s` when the client is told when to retry.
    package static func json(error: String, reason: String, priority: Priority?, retryAfterSeconds: Int?) -> String {
        var json = #"{"error":""# + escaped(error) + #"","reason":""# + escaped(reason) + "\""
        if let priority {
            json += #","priority":""# + escaped(priority.label) + "\""
        }
        if let retryAfterSeconds {
            json += #","retry_after_s":"# + String(retryAfterSeconds)
        }
        return json + "}"
    }

    /// `Retry-After` in whole seconds as HTTP requires: rounded up, at least 1, at most one day.
    package static func retryAfterSeconds(_ duration: Duration) -> Int {
        let seconds = duration.seconds
        guard seconds > 1 else { return 1 }
        return Int(min(seconds.rounded(.up), 86_400))
    }

    /// Escapes `text` for a JSON string (RFC 8259 §7): quotation mark, reverse solidus and control characters.
    /// Spillway's own labels need none of it, but a reason can be any text (a policy name, a caller's string).
    package static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            return text
        }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
