import HTTPTypes
import Hummingbird
import Spillway
import Synchronization

/// What happens once a response has been written: the admission permit is released and the request is counted.
///
/// The response body carries the completion (``Hummingbird/ResponseBody/finishing(_:kind:)``) and calls
/// ``finish(writeFailed:)`` once its last byte is written: a single-buffer body when NIO frees the buffer it wrote
/// (``CompletionBuffer``), a streamed body when its writer returns or throws. If the response is never written — a
/// later middleware dropped it, or the connection task ended first — the completion is freed with the body and
/// `deinit` finishes it as written: the handler's work was done. The `finished` flag makes every path after the
/// first a no-op, so the permit is released and the request counted exactly once.
final class ResponseCompletion: Sendable {
    /// The goodput metrics to record into, and what to record.
    struct Recording: Sendable {
        var metrics: GoodputMetrics
        var method: HTTPRequest.Method
        var route: String
        /// Arrival, in nanoseconds since `SpillwayTime.origin`.
        var start: Int64
    }

    /// What the completion owns until it finishes.
    private struct Held: ~Copyable {
        var finished = false
        var permit: AdmissionPermit?
        /// The body buffer this completion's own buffer was copied from: freed only after this completion finishes,
        /// so that a completion attached to it by an inner middleware also finishes after the write.
        var original: ByteBuffer?
    }

    private let held: Mutex<Held>
    /// The outcome the handler's response earned for the limit algorithm.
    private let permitOutcome: PermitOutcome
    private let dropsLateResponses: Bool
    private let status: HTTPResponse.Status
    private let deadline: Deadline?
    private let recording: Recording?
    private let clock: any SpillwayClock

    /// - Parameter original: The body buffer this completion's ``CompletionBuffer`` is copied from, kept alive until
    ///   the completion has finished.
    init(
        permit: consuming AdmissionPermit?,
        original: ByteBuffer? = nil,
        permitOutcome: PermitOutcome,
        dropsLateResponses: Bool,
        status: HTTPResponse.Status,
        deadline: Deadline?,
        recording: Recording?,
        clock: any SpillwayClock
    ) {
        self.held = Mutex(Held(permit: permit, original: original))
        self.permitOutcome = permitOutcome
        self.dropsLateResponses = dropsLateResponses
        self.status = status
        self.deadline = deadline
        self.recording = recording
        self.clock = clock
    }

    /// Releases the permit and records the request, unless that happened already.
    func finish(writeFailed: Bool) {
        let finished = held.withLock { held -> (now: Int64, onTime: Bool, original: ByteBuffer?)? in
            guard !held.finished else { return nil }
            held.finished = true
            let now = (recording != nil || deadline != nil) ? clock.nanosecondsSinceOrigin : 0
            let onTime = deadline.map { !$0.hasPassed(atNanoseconds: now) } ?? true
            switch held.permit.take() {
            case .some(let permit):
                var outcome = writeFailed ? .ignored : permitOutcome
                if outcome == .success, dropsLateResponses, !onTime { outcome = .dropped }
                permit.release(outcome)
            case .none:
                break
            }
            return (now, onTime, held.original.take())
        }
        guard let finished else { return }
        if let recording {
            let outcome = writeFailed ? .aborted : RequestOutcome(status: status, onTime: finished.onTime)
            recording.metrics.record(
                recording.method,
                route: recording.route,
                status: status,
                outcome: outcome,
                nanoseconds: finished.now - recording.start
            )
        }
        // Freed last: an inner middleware's completion on it finishes after this one.
        withExtendedLifetime(finished.original) {}
    }

    deinit {
        finish(writeFailed: false)
    }
}
