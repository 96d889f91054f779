#if canImport(FoundationEssentials)
import struct FoundationEssentials.URL
#else
import struct Foundation.URL
#endif

/// The `OTEL_*` variables that decide whether swift-otel's exporters can work at all, read the way swift-otel 1.6
/// reads them (a signal-specific variable before the shared one; enumerated values matched exactly), so that
/// ``OTLPTracing`` and ``OTLPMetrics`` can refuse with an ``OTLPExportError`` what swift-otel would stop the
/// process for or silently export nothing with.
struct OTLPEnvironment {
    /// The telemetry signal a check is for.
    enum Signal: String {
        case traces = "TRACES"
        case metrics = "METRICS"

        /// `OTEL_<signal>_EXPORTER` values swift-otel 1.6 has no exporter for.
        fileprivate var unsupportedExporters: [String] {
            switch self {
            case .traces: ["console", "jaeger", "zipkin"]
            case .metrics: ["console", "prometheus"]
            }
        }
    }

    private let variables: [String: String]

    init(_ variables: [String: String]) {
        self.variables = variables
    }

    /// `OTEL_SDK_DISABLED=true` (case-insensitive): the operator turned telemetry off.
    var sdkDisabled: Bool { variables["OTEL_SDK_DISABLED"]?.lowercased() == "true" }

    /// Throws for a protocol, sampler or exporter swift-otel cannot run here, and for an endpoint (the
    /// environment's, else `codeEndpoint`) that is not an `http(s)://host…` URL.
    func check(_ signal: Signal, codeEndpoint: String?) throws {
        if let (name, value) = exporterVariable(signal, "PROTOCOL"), value == "grpc" {
            throw OTLPExportError(
                .unsupportedProtocol,
                "\(name) is \"grpc\", but SpillwayOTel builds swift-otel's OTLP/HTTP exporter only; "
                    + "unset it or use \"http/protobuf\" and the collector's HTTP port (4318)"
            )
        }
        if signal == .traces, let sampler = variables["OTEL_TRACES_SAMPLER"],
            ["jaeger_remote", "parentbased_jaeger_remote", "xray"].contains(sampler)
        {
            throw OTLPExportError(
                .unsupportedSampler,
                "OTEL_TRACES_SAMPLER is \"\(sampler)\", which swift-otel does not implement; use "
                    + "parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG, or another sampler of the specification"
            )
        }
        let exporterName = "OTEL_\(signal.rawValue)_EXPORTER"
        if let exporter = variables[exporterName], signal.unsupportedExporters.contains(exporter) {
            throw OTLPExportError(
                .unsupportedExporter,
                "\(exporterName) is \"\(exporter)\", which swift-otel does not implement; use \"otlp\" or \"none\""
            )
        }
        let endpoint = exporterVariable(signal, "ENDPOINT") ?? codeEndpoint.map { ("the configured endpoint", $0) }
        if let (source, value) = endpoint, !Self.isHTTPURL(value) {
            throw OTLPExportError(
                .invalidEndpoint,
                "\(source) is \"\(value)\"; it must be an http:// or https:// URL with a host, "
                    + "such as http://collector:4318"
            )
        }
    }

    /// `OTEL_EXPORTER_OTLP_<signal>_<suffix>`, else `OTEL_EXPORTER_OTLP_<suffix>`, with the name of the one set.
    private func exporterVariable(_ signal: Signal, _ suffix: String) -> (name: String, value: String)? {
        for name in ["OTEL_EXPORTER_OTLP_\(signal.rawValue)_\(suffix)", "OTEL_EXPORTER_OTLP_\(suffix)"] {
            if let value = variables[name] { return (name, value) }
        }
        return nil
    }

    private static func isHTTPURL(_ string: String) -> Bool {
        guard let url = URL(string: string), let scheme = url.scheme?.lowercased(), let host = url.host else {
            return false
        }
        return (scheme == "http" || scheme == "https") && !host.isEmpty
    }
}
