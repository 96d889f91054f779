/// One span as an OTLP/HTTP exporter sent it: decoded from an `ExportTraceServiceRequest`
/// (opentelemetry-proto `collector/trace/v1/trace_service.proto` and `trace/v1/trace.proto`; the field numbers are
/// the ones noted beside each read).
struct ExportedSpan: Sendable, CustomStringConvertible {
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
    var attributes: [String: OTLPAttributeValue] = [:]
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

    /// Every span of one `ExportTraceServiceRequest`, each with its resource's `service.name`.
    static func decode(exportTraceServiceRequest body: [UInt8]) throws -> [ExportedSpan] {
        var spans: [ExportedSpan] = []
        try OTLPDecoding.items(ofExportRequest: body) { bytes, serviceName in
            var span = try decodeSpan(bytes)
            span.serviceName = serviceName
            spans.append(span)
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
                let event = try ProtobufWireReader.fields(of: try OTLPDecoding.payload(field, "Span.Event"))
                span.eventNames += event.filter { $0.number == 2 }.compactMap(\.value.string)
            default: break
            }
        }
        span.attributes = try OTLPDecoding.attributes(of: bytes, field: 9)  // Span.attributes
        return span
    }
}
