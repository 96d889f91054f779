import Logging

/// Learns what `PostgresClient`'s connection pool does from its background log, its only observability hook.
///
/// postgres-nio's pool reports connection attempts, failures and closes to a fixed observability delegate that
/// writes them to the client's background logger (`Creating new connection` and `Connection closed` at debug,
/// `Connection creation failed` at info, each with the `psql_connection_id` metadata). This handler sits in front
/// of the user's handler: it turns those lines into events and forwards every line to the user's handler at the
/// user's level, so installing it changes nothing the user sees.
struct PoolEventObserver: LogHandler {
    enum Event: Sendable {
        case connecting(id: Int?)
        case connectFailed(id: Int?, error: String)
        case closed(id: Int?)
    }

    static let connectingMessage = "Creating new connection"
    static let connectFailedMessage = "Connection creation failed"
    static let closedMessage = "Connection closed"
    static let connectionIDKey = "psql_connection_id"
    static let errorKey = "psql_error"

    private var forward: (any LogHandler)?
    private let onEvent: @Sendable (Event) -> Void
    var metadata: Logger.Metadata
    var metadataProvider: Logger.MetadataProvider?

    /// Observes events for `onEvent`, forwarding lines to `forward` (nothing is forwarded when `nil`).
    init(forwardingTo forward: (any LogHandler)?, onEvent: @escaping @Sendable (Event) -> Void) {
        self.forward = forward
        self.onEvent = onEvent
        self.metadata = forward?.metadata ?? [:]
        self.metadataProvider = forward?.metadataProvider
    }

    /// The events are logged at debug, so the handler accepts debug and everything the user's handler accepts.
    var logLevel: Logger.Level {
        get { min(.debug, forward?.logLevel ?? .debug) }
        set { forward?.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set {
            metadata[key] = newValue
            forward?[metadataKey: key] = newValue
        }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let observed = Self.event(message: event.message.description, metadata: merged) {
            onEvent(observed)
        }
        guard let forward, event.level >= forward.logLevel else { return }
        forward.log(event: event)
    }

    /// The pool event a log line reports, if any.
    static func event(message: String, metadata: Logger.Metadata) -> Event? {
        let id = metadata[connectionIDKey].flatMap { Int($0.description) }
        switch message {
        case connectingMessage: return .connecting(id: id)
        case connectFailedMessage: return .connectFailed(id: id, error: metadata[errorKey]?.description ?? "unknown")
        case closedMessage: return .closed(id: id)
        default: return nil
        }
    }
}
