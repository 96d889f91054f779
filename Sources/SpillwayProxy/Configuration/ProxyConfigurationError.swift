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
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case unreadable
            case syntax
            case duplicateKey = "duplicate_key"
            case unknownKey = "unknown_key"
            case missingKey = "missing_key"
            case wrongType = "wrong_type"
            case invalidValue = "invalid_value"
            case unknownReference = "unknown_reference"
            case notReloadable = "not_reloadable"
        }

        fileprivate let base: Base

        /// The file could not be read, or its extension names no known format.
        public static let unreadable = Code(base: .unreadable)
        /// The YAML or TOML parser rejected the text.
        public static let syntax = Code(base: .syntax)
        /// A key appears twice in one table.
        public static let duplicateKey = Code(base: .duplicateKey)
        /// A key the schema does not know (often a typo: the message suggests the nearest known key).
        public static let unknownKey = Code(base: .unknownKey)
        /// A required key is absent.
        public static let missingKey = Code(base: .missingKey)
        /// A value of the wrong type (a list where a string belongs, say).
        public static let wrongType = Code(base: .wrongType)
        /// A value of the right type but outside what is allowed (a negative limit, an unparseable address).
        public static let invalidValue = Code(base: .invalidValue)
        /// A route names a cluster that does not exist, or a policy needs `redis` and there is none.
        public static let unknownReference = Code(base: .unknownReference)
        /// A setting that a reload cannot change (the listening address); restart the proxy to change it.
        public static let notReloadable = Code(base: .notReloadable)

        /// A stable snake-case label.
        public var description: String { base.rawValue }
    }

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

    /// `file:line: key: message`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}
