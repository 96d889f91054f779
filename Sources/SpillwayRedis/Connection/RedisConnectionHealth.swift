import Synchronization

/// What a connection's channel handler learns about the server, shared with the pool: whether the connection owes
/// replies to commands that timed out, whether it answers commands, and whether it was closed as stalled.
///
/// The pool uses it to back off from a server that accepts connections and completes the handshake but then
/// answers nothing (such a server is not healthy until a command is answered), and to send new commands to a
/// connection that is not waiting behind a stuck one.
final class RedisConnectionHealth: Sendable {
    private struct State {
        var handshakeCompleted = false
        var stalled = false
        var onAnswer: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    /// Whether the hook waits for the next answer: read on every reply, so that a reply costs no lock otherwise.
    private let armed = Atomic<Bool>(false)
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

    /// A reply arrived: runs the hook waiting for the next answer to a command, if one is set.
    func replyArrived() {
        guard armed.load(ordering: .relaxed) else { return }
        let hook = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.handshakeCompleted else { return nil }
            armed.store(false, ordering: .relaxed)
            defer { state.onAnswer = nil }
            return state.onAnswer
        }
        hook?()
    }

    /// Calls `body` once, when the connection next answers a command (a reply after the handshake, the late reply
    /// of a timed-out command included: the server works), replacing a hook set earlier that has not run yet.
    /// Never calls it before returning.
    func onNextAnswer(_ body: @escaping @Sendable () -> Void) {
        state.withLock { state in
            state.onAnswer = body
            armed.store(true, ordering: .relaxed)
        }
    }

    /// The handler is closing the connection because it stalled.
    func markStalled() {
        state.withLock { $0.stalled = true }
    }
}
