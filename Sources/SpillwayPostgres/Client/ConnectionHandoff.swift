import Synchronization

/// Lends one pooled connection from the task that holds the pool's lease to the caller's task, so that the caller
/// can stop waiting for the pool at its deadline.
///
/// `PostgresClient` only lends connections through `withConnection`, whose wait for a free connection ends when its
/// task is cancelled. The lease is therefore taken in a task of its own (the *holder*), which offers the connection
/// here and stays inside `withConnection` until the caller ``release()``s it; the caller ``take()``s it, and a timer
/// ``expire(_:)``s the wait at the deadline. Every transition happens under one lock, so a connection offered just as
/// the wait expires goes straight back to the pool and never reaches a caller that gave up.
final class ConnectionHandoff<Connection: Sendable>: Sendable {
    typealias Taken = Result<Connection, LeaseFailure>

    /// What the timer found when the deadline passed.
    enum Expiry: Sendable {
        /// The caller was still waiting; it has been told, and the holder will give the connection back.
        case stoppedWaiting
        /// The caller holds the connection: its statement must be interrupted.
        case inUse(Connection, backendProcessID: Int32?)
        /// Nothing to do: the call already ended.
        case finished
    }

    private enum State {
        case idle
        case callerWaiting(CheckedContinuation<Taken, Never>)
        case offered(Connection, holder: CheckedContinuation<Void, Never>)
        /// `expiredFirst`: the call expired (with that failure) before its server process was known, so nothing
        /// could be cancelled: the caller must not start its statement.
        case inUse(
            Connection,
            holder: CheckedContinuation<Void, Never>,
            backendProcessID: Int32?,
            expiredFirst: LeaseFailure?
        )
        case failed(LeaseFailure)
        case released
    }

    private let state = Mutex(State.idle)
    private let interruptionValue = Atomic<UInt8>(0)

    /// Whether and why the statement running on the connection was interrupted (``interrupt(_:)``).
    var interruption: StatementInterruption {
        StatementInterruption(rawValue: interruptionValue.load(ordering: .acquiring)) ?? .none
    }

    /// Records that the caller's statement is being interrupted, before the cancel request is sent.
    func interrupt(_ reason: StatementInterruption) {
        interruptionValue.store(reason.rawValue, ordering: .releasing)
    }

    /// Called by the caller: waits until the holder offers a connection or the wait fails.
    func take() async -> Taken {
        await withCheckedContinuation { (continuation: CheckedContinuation<Taken, Never>) in
            let immediate = state.withLock { state -> Taken? in
                switch state {
                case .idle:
                    state = .callerWaiting(continuation)
                    return nil
                case .offered(let connection, let holder):
                    state = .inUse(connection, holder: holder, backendProcessID: nil, expiredFirst: nil)
                    return .success(connection)
                case .failed(let failure):
                    return .failure(failure)
                case .callerWaiting, .inUse, .released:
                    preconditionFailure("ConnectionHandoff.take() called twice")
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Called by the holder inside `withConnection`: hands `connection` over and returns once the caller released it
    /// (at once when the caller already gave up).
    func offer(_ connection: Connection) async {
        await withCheckedContinuation { (holder: CheckedContinuation<Void, Never>) in
            let caller = state.withLock { state -> CheckedContinuation<Taken, Never>?? in
                switch state {
                case .idle:
                    state = .offered(connection, holder: holder)
                    return .some(nil)
                case .callerWaiting(let caller):
                    state = .inUse(connection, holder: holder, backendProcessID: nil, expiredFirst: nil)
                    return .some(caller)
                case .failed, .released:
                    return nil
                case .offered, .inUse:
                    preconditionFailure("ConnectionHandoff.offer(_:) called twice")
                }
            }
            switch caller {
            case .none: holder.resume()
            case .some(.none): break
            case .some(.some(let caller)): caller.resume(returning: .success(connection))
            }
        }
    }

    /// Records the server process serving the connection, so that an expiry can cancel its statement.
    ///
    /// Returns the failure that expired the call if it expired before this (its deadline passed, or its task was
    /// cancelled, while the process was being looked up): the watchdog then had no process to cancel, so the caller
    /// must not start its statement (it would run on the server unbounded, to `statement_timeout`).
    func setBackendProcessID(_ processID: Int32) -> LeaseFailure? {
        state.withLock { state in
            guard case .inUse(let connection, let holder, _, let expiredFirst) = state else { return nil }
            if let expiredFirst { return expiredFirst }
            state = .inUse(connection, holder: holder, backendProcessID: processID, expiredFirst: nil)
            return nil
        }
    }

    /// Ends the wait with `failure` if the caller has no connection yet; returns what the caller holds otherwise.
    @discardableResult
    func expire(_ failure: LeaseFailure) -> Expiry {
        let (expiry, caller, holder) = state.withLock {
            state -> (Expiry, CheckedContinuation<Taken, Never>?, CheckedContinuation<Void, Never>?) in
            switch state {
            case .idle:
                state = .failed(failure)
                return (.stoppedWaiting, nil, nil)
            case .callerWaiting(let caller):
                state = .failed(failure)
                return (.stoppedWaiting, caller, nil)
            case .offered(_, let holder):
                state = .failed(failure)
                return (.stoppedWaiting, nil, holder)
            case .inUse(let connection, let holder, let processID, let expiredFirst):
                if processID == nil && expiredFirst == nil {
                    state = .inUse(connection, holder: holder, backendProcessID: nil, expiredFirst: failure)
                }
                return (.inUse(connection, backendProcessID: processID), nil, nil)
            case .failed, .released:
                return (.finished, nil, nil)
            }
        }
        caller?.resume(returning: .failure(failure))
        holder?.resume()
        return expiry
    }

    /// Where the handoff is, for tests and diagnostics.
    enum Phase: Equatable {
        case idle, callerWaiting, offered, inUse, failed, released
    }

    var phase: Phase {
        state.withLock { state in
            switch state {
            case .idle: .idle
            case .callerWaiting: .callerWaiting
            case .offered: .offered
            case .inUse: .inUse
            case .failed: .failed
            case .released: .released
            }
        }
    }

    /// Called by the caller when it is done with the connection: the holder returns it to the pool.
    func release() {
        let holder = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard case .inUse(_, let holder, _, _) = state else { return nil }
            state = .released
            return holder
        }
        holder?.resume()
    }
}

/// Why a wait for a connection ended without one.
enum LeaseFailure: Error, Sendable {
    /// The deadline that bounds the call passed.
    case expired
    /// The pool reported that connecting to the server failed (its description).
    case connectFailed(String)
    /// The holder's `withConnection` threw (the pool shut down, the wait was cancelled).
    case poolError(any Error)
    /// The caller's task was cancelled.
    case cancelled
}

/// Why the caller's statement was interrupted.
enum StatementInterruption: UInt8, Sendable {
    case none = 0
    /// The deadline bounding the call passed.
    case deadline = 1
    /// The caller's task was cancelled.
    case cancelled = 2
}
