import HTTPTypes
import Testing

@testable import SpillwayHummingbird

/// The one-pass header scan must read what three `HTTPFields` lookups read: case-insensitive names, repeated fields
/// joined with `", "`, and nothing for a name that is not configured.
@Suite struct HeaderScanTests {
    static let timeout = HTTPField.Name("x-request-timeout-ms")!
    static let grpc = HTTPField.Name("grpc-timeout")!
    static let priority = HTTPField.Name("x-priority")!

    @Test func readsTheSameValuesAsHTTPFieldsLookups() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("X-Request-Timeout-MS")!, value: "250"))
        fields.append(HTTPField(name: .accept, value: "*/*"))
        // Same length as "x-priority", a different name.
        fields.append(HTTPField(name: HTTPField.Name("x-priorityy")!, value: "decoy"))
        fields.append(HTTPField(name: HTTPField.Name("x-prioritx")!, value: "decoy"))
        fields.append(HTTPField(name: Self.priority, value: "critical"))
        fields.append(HTTPField(name: Self.grpc, value: "2S"))
        fields.append(HTTPField(name: Self.timeout, value: "300"))
        let names = HeaderScan.Names(timeout: Self.timeout, grpcTimeout: Self.grpc, priority: Self.priority)
        let scan = HeaderScan(fields, names)
        #expect(scan.timeout == fields[Self.timeout])
        #expect(scan.timeout == "250, 300")
        #expect(scan.grpcTimeout == "2S")
        #expect(scan.priority == fields[Self.priority])
        #expect(scan.priority == "critical")
    }

    @Test func namesThatAreNotConfiguredAreNotRead() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: Self.timeout, value: "250"))
        fields.append(HTTPField(name: Self.grpc, value: "2S"))
        fields.append(HTTPField(name: Self.priority, value: "critical"))
        let scan = HeaderScan(fields, HeaderScan.Names(timeout: Self.timeout, grpcTimeout: nil, priority: nil))
        #expect(scan.timeout == "250")
        #expect(scan.grpcTimeout == nil)
        #expect(scan.priority == nil)
        let none = HeaderScan(fields, HeaderScan.Names(timeout: nil, grpcTimeout: nil, priority: nil))
        #expect(none.timeout == nil && none.grpcTimeout == nil && none.priority == nil)
    }
}
