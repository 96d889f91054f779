/// One metric as an OTLP/HTTP exporter sent it: decoded from an `ExportMetricsServiceRequest`
/// (opentelemetry-proto `collector/metrics/v1/metrics_service.proto` and `metrics/v1/metrics.proto`).
struct ExportedMetric: Sendable, CustomStringConvertible {
    /// Which `Metric.data` it carries: `gauge` is field 5, `sum` 7, `histogram` 9.
    enum Kind: Sendable {
        case gauge, sum, histogram, other
    }

    /// One data point: its attributes and, for gauges and sums, its value (`as_double` 4 or `as_int` 6 of a
    /// `NumberDataPoint`); for histograms, its count (`HistogramDataPoint.count`, field 4).
    struct Point: Sendable {
        var attributes: [String: OTLPAttributeValue]
        var value: Double
    }

    var serviceName: String?
    var name = ""
    var kind = Kind.other
    var points: [Point] = []

    var description: String { "\(name) [\(kind)] \(points.map { "\($0.attributes) = \($0.value)" })" }

    /// Every metric of one `ExportMetricsServiceRequest`, each with its resource's `service.name`.
    static func decode(exportMetricsServiceRequest body: [UInt8]) throws -> [ExportedMetric] {
        var metrics: [ExportedMetric] = []
        try OTLPDecoding.items(ofExportRequest: body) { bytes, serviceName in
            var metric = ExportedMetric(serviceName: serviceName)
            for field in try ProtobufWireReader.fields(of: bytes) {
                switch field.number {
                case 1: metric.name = field.value.string ?? ""
                case 5, 7, 9:
                    metric.kind = field.number == 5 ? .gauge : field.number == 7 ? .sum : .histogram
                    let data = try ProtobufWireReader.fields(of: try OTLPDecoding.payload(field, "Metric.data"))
                    for point in data where point.number == 1 {  // data_points
                        metric.points.append(try decodePoint(try OTLPDecoding.payload(point, "point"), metric.kind))
                    }
                default: break
                }
            }
            metrics.append(metric)
        }
        return metrics
    }

    private static func decodePoint(_ bytes: ArraySlice<UInt8>, _ kind: Kind) throws -> Point {
        let histogram = kind == .histogram
        var value = Double.nan
        for field in try ProtobufWireReader.fields(of: bytes) {
            switch (field.number, field.value, histogram) {
            case (4, .fixed64(let bits), false): value = Double(bitPattern: bits)
            case (6, .fixed64(let bits), false): value = Double(Int64(bitPattern: bits))
            case (4, .fixed64(let count), true): value = Double(count)
            default: break
            }
        }
        // NumberDataPoint.attributes is field 7, HistogramDataPoint.attributes field 9.
        return Point(attributes: try OTLPDecoding.attributes(of: bytes, field: histogram ? 9 : 7), value: value)
    }
}
