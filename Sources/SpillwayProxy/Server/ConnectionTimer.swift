import NIOCore

/// The timeouts of one client connection and of its exchange in progress, on a single NIO timer.
///
/// A NIO task scheduled and cancelled per timeout cost the proxy about a tenth of its CPU under keep-alive load
/// (three per request: header, response, idle): the event loop keeps its tasks in a heap, a cancel finds its task by
/// a linear search, and every comparison copies a task (a retain and a release of its closures). Here a timeout is a
/// deadline in a field; one task is scheduled for the earliest armed deadline, and rescheduled only when a nearer
/// one is armed. Disarming clears the field: the task still fires, finds nothing due, and is scheduled again for the
/// next armed deadline, if any. A keep-alive connection serving back-to-back requests schedules about one task per
/// header timeout instead of three per request; a deadline is still met to the same precision as a task of its own.
///
/// Used on the connection's event loop only.
final class ConnectionTimer {
    /// The timeouts a connection and its exchange run.
    enum Slot: CaseIterable {
        /// No request for the idle timeout (between requests).
        case idle
        /// A request's head did not arrive whole within the header timeout of its first byte.
        case header
        /// No upstream response head by the cluster's response timeout or the request's deadline.
        case response
        /// A response streaming with no progress for the idle timeout.
        case stall
        /// A request body with a gap longer than the client body timeout.
        case body
    }

    private let eventLoop: any EventLoop
    private var idle: NIODeadline?
    private var header: NIODeadline?
    private var response: NIODeadline?
    private var stall: NIODeadline?
    private var body: NIODeadline?
    private var task: Scheduled<Void>?
    /// When `task` fires.
    private var wakeUp: NIODeadline?
    /// Which task is `task`: a cancelled task that the loop had already taken to run is told apart by it.
    private var generation: UInt64 = 0
    private var stopped = false
    /// How many NIO tasks it has scheduled so far.
    @exclusivity(unchecked) private(set) var tasksScheduled = 0
    /// Called on the loop with each slot whose deadline has passed (the slot is disarmed first).
    @exclusivity(unchecked) var onExpiry: ((Slot) -> Void)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Arms `slot` to expire at `deadline` (replacing its earlier deadline, if any).
    func arm(_ slot: Slot, at deadline: NIODeadline) {
        guard !stopped else { return }
        self[slot] = deadline
        wake(at: deadline)
    }

    /// Arms `slot` to expire `timeout` from now.
    func arm(_ slot: Slot, in timeout: Duration) {
        arm(slot, at: eventLoop.now + .nanoseconds(timeout.nanoseconds))
    }

    /// Disarms `slot`; nothing happens when it was not armed.
    func disarm(_ slot: Slot) {
        self[slot] = nil
    }

    func isArmed(_ slot: Slot) -> Bool { self[slot] != nil }

    /// Disarms every slot and cancels the task for good (the connection closed).
    func stop() {
        stopped = true
        idle = nil
        header = nil
        response = nil
        stall = nil
        body = nil
        task?.cancel()
        task = nil
        wakeUp = nil
        onExpiry = nil
    }

    private subscript(slot: Slot) -> NIODeadline? {
        get {
            switch slot {
            case .idle: idle
            case .header: header
            case .response: response
            case .stall: stall
            case .body: body
            }
        }
        set {
            switch slot {
            case .idle: idle = newValue
            case .header: header = newValue
            case .response: response = newValue
            case .stall: stall = newValue
            case .body: body = newValue
            }
        }
    }

    /// Makes sure the task fires no later than `deadline`.
    private func wake(at deadline: NIODeadline) {
        if let wakeUp, wakeUp <= deadline { return }
        task?.cancel()
        wakeUp = deadline
        generation &+= 1
        tasksScheduled += 1
        let generation = generation
        // A strong capture: the task holds the timer until it runs or ``stop()`` cancels it (which every connection
        // does as it closes). A weak one gave the timer a side table, and every retain and release of it, several a
        // request, took the runtime's slow path.
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.fire(generation) }
    }

    private func fire(_ firing: UInt64) {
        guard firing == generation else { return }
        task = nil
        wakeUp = nil
        let now = eventLoop.now
        for slot in Slot.allCases {
            guard !stopped else { return }
            guard let deadline = self[slot], deadline <= now else { continue }
            self[slot] = nil
            onExpiry?(slot)
        }
        guard !stopped else { return }
        let next = [idle, header, response, stall, body].lazy.compactMap { $0 }.min()
        if let next { wake(at: next) }
    }
}
