/// Why ``OTLPTracing`` or ``OTLPMetrics`` refused a configuration: an error raised at start-up, before anything is
/// exported, with a message that names the setting to change.
///
/// swift-otel 1.6 stops the process for some settings (`fatalError`: an OTLP/gRPC protocol in a build without its
/// gRPC exporter, the Jaeger and X-Ray samplers) and accepts others that can only fail later, at every export (an
/// endpoint without `http://` or `https://`). ``OTLPTracing`` and ``OTLPMetrics`` check those first and throw this
/// instead.
///
/// ```swift
/// do {
///     let tracing = try OTLPTracing.bootstrap(OTLPTracingConfiguration(serviceName: "checkout"))
/// } catch let error as OTLPExportError {
///     print(error)   // OTLP export: OTEL_EXPORTER_OTLP_PROTOCOL is "grpc", …
/// }
/// ```
public struct OTLPExportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, for code that tells them apart.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case invalidSamplingRatio = "invalid_sampling_ratio"
            case invalidServiceName = "invalid_service_name"
            case invalidEndpoint = "invalid_endpoint"
            case invalidExportInterval = "invalid_export_interval"
            case unsupportedProtocol = "unsupported_protocol"
            case unsupportedSampler = "unsupported_sampler"
            case unsupportedExporter = "unsupported_exporter"
            case rejectedBySwiftOTel = "rejected_by_swift_otel"
        }

        fileprivate let base: Base

        /// The sampling ratio is not a number in 0...1.
        public static let invalidSamplingRatio = Code(base: .invalidSamplingRatio)
        /// The service name is empty.
        public static let invalidServiceName = Code(base: .invalidServiceName)
        /// The endpoint is not an `http://` or `https://` URL with a host.
        public static let invalidEndpoint = Code(base: .invalidEndpoint)
        /// The tracing export delay or the metrics export interval is not positive.
        public static let invalidExportInterval = Code(base: .invalidExportInterval)
        /// The environment asks for OTLP/gRPC; this product builds swift-otel's OTLP/HTTP exporter only.
        public static let unsupportedProtocol = Code(base: .unsupportedProtocol)
        /// The environment asks for a sampler swift-otel does not implement.
        public static let unsupportedSampler = Code(base: .unsupportedSampler)
        /// The environment asks for a span or metric exporter swift-otel does not implement.
        public static let unsupportedExporter = Code(base: .unsupportedExporter)
        /// swift-otel refused the configuration; the message carries its error.
        public static let rejectedBySwiftOTel = Code(base: .rejectedBySwiftOTel)

        /// A stable snake-case name (`invalid_endpoint`, …).
        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// What is wrong and what to change.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "OTLP export: \(message)" }

    /// Runs `body`, a call into swift-otel, and reports its error as ``Code/rejectedBySwiftOTel``.
    static func fromSwiftOTel<T>(_ body: () throws -> T) throws(OTLPExportError) -> T {
        do {
            return try body()
        } catch {
            throw OTLPExportError(.rejectedBySwiftOTel, "swift-otel refused the configuration: \(error)")
        }
    }
}
