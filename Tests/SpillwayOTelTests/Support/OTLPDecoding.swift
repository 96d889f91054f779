/// An attribute's value in an OTLP message (`common/v1/common.proto` `AnyValue`): the kinds Spillway, Hummingbird and
/// swift-metrics set, and `other` for arrays, maps and bytes.
enum OTLPAttributeValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case other
}

/// The parts of opentelemetry-proto that spans and metrics share: attribute lists, `AnyValue`, the resource's
/// `service.name`, and the nesting of `Resource…` → `Scope…` → items common to both export requests.
enum OTLPDecoding {
    /// Every item (span or metric) of an `Export…ServiceRequest`, with its resource's `service.name`: field 1 of the
    /// request is `ResourceSpans` / `ResourceMetrics`, whose field 1 is the `Resource` and field 2 the
    /// `ScopeSpans` / `ScopeMetrics`, whose field 2 is the items.
    static func items(
        ofExportRequest body: [UInt8],
        _ decodeItem: (ArraySlice<UInt8>, _ serviceName: String?) throws -> Void
    ) throws {
        for resourceItems in try ProtobufWireReader.fields(of: body[...]) where resourceItems.number == 1 {
            let fields = try ProtobufWireReader.fields(of: try payload(resourceItems, "Resource…"))
            var serviceName: String?
            for resource in fields where resource.number == 1 {
                let attributes = try attributes(of: try payload(resource, "Resource"), field: 1)
                if case .string(let name) = attributes["service.name"] { serviceName = name }
            }
            for scopeItems in fields where scopeItems.number == 2 {
                let scopeFields = try ProtobufWireReader.fields(of: try payload(scopeItems, "Scope…"))
                for item in scopeFields where item.number == 2 {
                    try decodeItem(try payload(item, "item"), serviceName)
                }
            }
        }
    }

    /// The `KeyValue` list in field `field` of a message: `KeyValue.key` is 1, `.value` (an `AnyValue`) is 2.
    static func attributes(of message: ArraySlice<UInt8>, field: Int) throws -> [String: OTLPAttributeValue] {
        var attributes: [String: OTLPAttributeValue] = [:]
        for keyValue in try ProtobufWireReader.fields(of: message) where keyValue.number == field {
            var key: String?
            var value = OTLPAttributeValue.other
            for part in try ProtobufWireReader.fields(of: try payload(keyValue, "KeyValue")) {
                if part.number == 1 { key = part.value.string }
                if part.number == 2 { value = try anyValue(try payload(part, "AnyValue")) }
            }
            if let key { attributes[key] = value }
        }
        return attributes
    }

    static func payload(_ field: ProtobufWireReader.Field, _ message: String) throws -> ArraySlice<UInt8> {
        guard let bytes = field.value.bytes else {
            throw ProtobufWireReader.MalformedMessage(description: "\(message) is not length-delimited")
        }
        return bytes
    }

    private static func anyValue(_ bytes: ArraySlice<UInt8>) throws -> OTLPAttributeValue {
        guard let field = try ProtobufWireReader.fields(of: bytes).first else { return .other }
        switch (field.number, field.value) {
        case (1, .lengthDelimited): return .string(field.value.string ?? "")
        case (2, .varint(let value)): return .bool(value != 0)
        case (3, .varint(let value)): return .int(Int64(bitPattern: value))
        case (4, .fixed64(let bits)): return .double(Double(bitPattern: bits))
        default: return .other
        }
    }
}
