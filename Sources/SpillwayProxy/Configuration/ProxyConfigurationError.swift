import Spillway

/// A mistake in a proxy configuration file, with the file, line and key to change and what to write instead.
///
/// Its description reads like a compiler's: `proxy.yaml:14: routes[0].cluster: no cluster named "victm"; the
/// clusters are: victim`. `spillway proxy` prints it and exits at start-up; on `SIGHUP` it is logged and the running
/// configuration stays in force.
///
/// ```swift
/// do {
///     let configuration = try ProxyConfiguration(contentsOfFile: "proxy.yaml")
/// } catch {
///     print(error)   // proxy.yaml:7: timeouts.client_header: "10" has no unit; write 10s or 10000ms
/// }
/// ```
public struct ProxyConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of mistake.
    public typealias Code = ErrorCode<ProxyConfigurationError>

    /// The kind of mistake.
    public var code: Code
    /// The file's name as given.
    public var file: String
    /// The line of the offending key or value (1-based), when known.
    public var line: Int?
    /// The dotted path of the offending key (`routes[0].rate_limits[1].limit`), when the mistake has one.
    public var key: String?
    /// What is wrong and what to write instead.
    public var message: String

    /// An error of kind `code` at `file:line`, key `key`.
    public init(_ code: Code, file: String, line: Int?, key: String?, _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// An error of kind `code` about a configuration that did not come from a file (one built in code, or a
    /// reload): no file or line, key `key`.
    init(_ code: Code, key: String?, _ message: String) {
        self.init(code, file: "", line: nil, key: key, message)
    }

    /// `file:line: key: message`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}

extension ErrorCode<ProxyConfigurationError> {
    /// The file could not be read, or its extension names no known format.
    public static var unreadable: Self { Self("unreadable") }
    /// The YAML or TOML parser rejected the text.
    public static var syntax: Self { Self("syntax") }
    /// A key appears twice in one table.
    public static var duplicateKey: Self { Self("duplicate_key") }
    /// A key the schema does not know (often a typo: the message suggests the nearest known key).
    public static var unknownKey: Self { Self("unknown_key") }
    /// A required key is absent.
    public static var missingKey: Self { Self("missing_key") }
    /// A value of the wrong type (a list where a string belongs, say).
    public static var wrongType: Self { Self("wrong_type") }
    /// A value of the right type but outside what is allowed (a negative limit, an unparseable address).
    public static var invalidValue: Self { Self("invalid_value") }
    /// A route names a cluster that does not exist, or a policy needs `redis` and there is none.
    public static var unknownReference: Self { Self("unknown_reference") }
    /// A setting that a reload cannot change (the listening address); restart the proxy to change it.
    public static var notReloadable: Self { Self("not_reloadable") }
}
