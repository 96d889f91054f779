import Synchronization

/// What a connection's channel handler learns about the server, shared with the pool: whether the connection owes
/// replies to commands that timed out, whether it has answered a command since its handshake, and whether it was
/// closed as stalled.
///
/// The pool uses it to back off from a server that accepts connections and completes the handshake but then
/// answers nothing (such a server is not healthy until a command succeeds), and to send new commands to a
/// connection that is not waiting behind a stuck one.
final class RedisConnectionHealth: Sendable {
    private struct State {
        var handshakeCompleted = false
        var answered = false
        var stalled = false
        var onFirstAnswer: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    private let lateReplies = Atomic<Int>(0)

    init() {}

    /// Whether replies of timed-out commands are still to come (and will be discarded): new commands would wait
    /// behind them.
    var owesLateReplies: Bool { lateReplies.load(ordering: .relaxed) > 0 }

    /// Whether the handler closed the connection because it owed replies and nothing arrived for the read timeout.
    var closedAsStalled: Bool { state.withLock { $0.stalled } }

    /// The handler now owes `count` more (positive) or fewer (negative) late replies.
    func lateRepliesChanged(by count: Int) {
        lateReplies.add(count, ordering: .relaxed)
    }

    /// The connection's handshake succeeded: replies from now on answer commands.
    func handshakeCompleted() {
        state.withLock { $0.handshakeCompleted = true }
    }

    /// A reply arrived. Returns `true` once the first reply to a command after the handshake has been recorded,
    /// after which the handler stops reporting.
    func replyArrived() -> Bool {
        let (recorded, hook) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            guard state.handshakeCompleted else { return (false, nil) }
            guard !state.answered else { return (true, nil) }
            state.answered = true
            defer { state.onFirstAnswer = nil }
            return (true, state.onFirstAnswer)
        }
        hook?()
        return recorded
    }

    /// Calls `body` once, when the connection answers its first command after the handshake (at once if it has).
    func onFirstAnswer(_ body: @escaping @Sendable () -> Void) {
        let answered = state.withLock { state -> Bool in
            if !state.answered { state.onFirstAnswer = body }
            return state.answered
        }
        if answered { body() }
    }

    /// The handler is closing the connection because it stalled.
    func markStalled() {
        state.withLock { $0.stalled = true }
    }
}
