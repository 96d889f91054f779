import HTTPTypes
import Hummingbird
import Spillway
import Synchronization

/// What happens once a response has been written: the admission permit is released and the request is counted.
///
/// The response body carries the completion (``Hummingbird/ResponseBody/finishing(_:)``) and calls
/// ``finish(writeFailed:)`` once its last byte is written: a single-buffer body when NIO frees the buffer it wrote
/// (``CompletionBuffer``), a streamed body when its writer returns or throws. If the response is never written — a
/// later middleware dropped it, or the connection task ended first — the completion is freed with the body and
/// `deinit` finishes it as written: the handler's work was done. The `finished` flag makes every path after the
/// first a no-op, so the permit is released and the request counted exactly once.
final class ResponseCompletion: Sendable {
    /// The goodput metrics to record into, and what to record.
    struct Recording: Sendable {
        var metrics: GoodputMetrics
        var route: String
        /// Arrival, in nanoseconds since `SpillwayTime.origin`.
        var start: Int64
    }

    /// What the completion owns until it finishes.
    private struct Held: ~Copyable {
        var permit: AdmissionPermit?
        /// The body buffer this completion's own buffer was copied from: freed only after this completion finishes,
        /// so that a completion attached to it by an inner middleware also finishes after the write.
        var original: ByteBuffer?
    }

    private let finished = Atomic<Bool>(false)
    private let held: Mutex<Held>
    /// The outcome the handler's response earned for the limit algorithm.
    private let permitOutcome: PermitOutcome
    private let dropsLateResponses: Bool
    private let status: HTTPResponse.Status
    private let deadline: Deadline?
    private let recording: Recording?
    private let clock: any SpillwayClock

    init(
        permit: consuming AdmissionPermit?,
        permitOutcome: PermitOutcome,
        dropsLateResponses: Bool,
        status: HTTPResponse.Status,
        deadline: Deadline?,
        recording: Recording?,
        clock: any SpillwayClock
    ) {
        self.held = Mutex(Held(permit: permit, original: nil))
        self.permitOutcome = permitOutcome
        self.dropsLateResponses = dropsLateResponses
        self.status = status
        self.deadline = deadline
        self.recording = recording
        self.clock = clock
    }

    /// Keeps `buffer` alive until the completion has finished.
    func keepAlive(_ buffer: ByteBuffer) {
        held.withLock { $0.original = buffer }
    }

    /// Releases the permit and records the request, unless that happened already.
    func finish(writeFailed: Bool) {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let now = (recording != nil || deadline != nil) ? clock.nanosecondsSinceOrigin : 0
        let onTime = deadline.map { !$0.hasPassed(atNanoseconds: now) } ?? true
        var outcome = writeFailed ? .ignored : permitOutcome
        if outcome == .success, dropsLateResponses, !onTime { outcome = .dropped }
        let original = held.withLock { held -> ByteBuffer? in
            switch held.permit.take() {
            case .some(let permit): permit.release(outcome)
            case .none: break
            }
            return held.original.take()
        }
        if let recording {
            let outcome = writeFailed ? .aborted : RequestOutcome(status: status, onTime: onTime)
            recording.metrics.record(
                route: recording.route,
                status: status,
                outcome: outcome,
                nanoseconds: now - recording.start
            )
            recording.metrics.inflight.decrement()
        }
        // Freed last: an inner middleware's completion on it finishes after this one.
        withExtendedLifetime(original) {}
    }

    deinit {
        finish(writeFailed: false)
    }
}
