/// One span as an OTLP/HTTP exporter sent it: decoded from an `ExportTraceServiceRequest`
/// (opentelemetry-proto `collector/trace/v1/trace_service.proto` and `trace/v1/trace.proto`; the field numbers are
/// the ones noted beside each read).
struct ExportedSpan: Sendable, CustomStringConvertible {
    /// An attribute's value; the kinds Spillway and Hummingbird set, and `other` for arrays, maps and bytes.
    enum AttributeValue: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case other
    }

    /// `Span.SpanKind` numbers.
    enum Kind: UInt64, Sendable {
        case unspecified = 0, `internal`, server, client, producer, consumer
    }

    var serviceName: String?
    var traceID = ""
    var spanID = ""
    var parentSpanID: String?
    var name = ""
    var kind = Kind.unspecified
    var attributes: [String: AttributeValue] = [:]
    var eventNames: [String] = []

    var description: String { "\(name) [\(kind)] \(spanID) ← \(parentSpanID ?? "root") \(attributes)" }

    func string(_ key: String) -> String? {
        if case .string(let value) = attributes[key] { return value }
        return nil
    }

    func int(_ key: String) -> Int64? {
        if case .int(let value) = attributes[key] { return value }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let value) = attributes[key] { return value }
        return nil
    }

    /// Every span of one `ExportTraceServiceRequest`, each with its resource's `service.name`.
    static func decode(exportTraceServiceRequest body: [UInt8]) throws -> [ExportedSpan] {
        var spans: [ExportedSpan] = []
        for resourceSpans in try ProtobufWireReader.fields(of: body[...]) where resourceSpans.number == 1 {
            let fields = try ProtobufWireReader.fields(of: try payload(resourceSpans, "ResourceSpans"))
            var serviceName: String?
            for resource in fields where resource.number == 1 {  // ResourceSpans.resource
                let attributes = try decodeAttributes(of: try payload(resource, "Resource"), field: 1)
                if case .string(let name) = attributes["service.name"] { serviceName = name }
            }
            for scopeSpans in fields where scopeSpans.number == 2 {  // ResourceSpans.scope_spans
                let scopeFields = try ProtobufWireReader.fields(of: try payload(scopeSpans, "ScopeSpans"))
                for span in scopeFields where span.number == 2 {  // ScopeSpans.spans
                    var decoded = try decodeSpan(try payload(span, "Span"))
                    decoded.serviceName = serviceName
                    spans.append(decoded)
                }
            }
        }
        return spans
    }

    private static func decodeSpan(_ bytes: ArraySlice<UInt8>) throws -> ExportedSpan {
        var span = ExportedSpan()
        for field in try ProtobufWireReader.fields(of: bytes) {
            switch field.number {
            case 1: span.traceID = field.value.hex ?? ""
            case 2: span.spanID = field.value.hex ?? ""
            case 4: span.parentSpanID = field.value.hex.flatMap { $0.isEmpty ? nil : $0 }
            case 5: span.name = field.value.string ?? ""
            case 6: span.kind = field.value.integer.flatMap(Kind.init(rawValue:)) ?? .unspecified
            case 11:  // Span.events; Event.name is field 2
                let event = try ProtobufWireReader.fields(of: try payload(field, "Span.Event"))
                span.eventNames += event.filter { $0.number == 2 }.compactMap(\.value.string)
            default: break
            }
        }
        span.attributes = try decodeAttributes(of: bytes, field: 9)  // Span.attributes
        return span
    }

    /// The `KeyValue` list in field `field` of a message: `KeyValue.key` is 1, `.value` (an `AnyValue`) is 2.
    private static func decodeAttributes(
        of message: ArraySlice<UInt8>,
        field: Int
    ) throws -> [String: AttributeValue] {
        var attributes: [String: AttributeValue] = [:]
        for keyValue in try ProtobufWireReader.fields(of: message) where keyValue.number == field {
            var key: String?
            var value = AttributeValue.other
            for part in try ProtobufWireReader.fields(of: try payload(keyValue, "KeyValue")) {
                if part.number == 1 { key = part.value.string }
                if part.number == 2 { value = try decodeAnyValue(try payload(part, "AnyValue")) }
            }
            if let key { attributes[key] = value }
        }
        return attributes
    }

    private static func decodeAnyValue(_ bytes: ArraySlice<UInt8>) throws -> AttributeValue {
        guard let field = try ProtobufWireReader.fields(of: bytes).first else { return .other }
        switch (field.number, field.value) {
        case (1, .lengthDelimited): return .string(field.value.string ?? "")
        case (2, .varint(let value)): return .bool(value != 0)
        case (3, .varint(let value)): return .int(Int64(bitPattern: value))
        case (4, .fixed64(let bits)): return .double(Double(bitPattern: bits))
        default: return .other
        }
    }

    private static func payload(_ field: ProtobufWireReader.Field, _ message: String) throws -> ArraySlice<UInt8> {
        guard let bytes = field.value.bytes else {
            throw ProtobufWireReader.MalformedMessage(description: "\(message) is not length-delimited")
        }
        return bytes
    }
}
