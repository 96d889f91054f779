import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A program Spillway's own tools and tests start (`spillway demo`'s HAProxy and nginx, the test servers, PostgreSQL
/// commands), with `posix_spawn`: standard input from `/dev/null`, output and error to a file, discarded or inherited,
/// no other descriptor inherited, signals unblocked and at their defaults.
///
/// Not Foundation's `Process`, for two reasons found the hard way:
/// - On Linux, `Process.run()` lists `/proc/self/fd` to close descriptors in the child and reads each entry's name as
///   `pointee.d_name`, a 256-byte copy out of a record packed to the name's length (the defect ``DirectoryNames``
///   avoids): a record at the end of `readdir`'s buffer, where the mapping ends, kills the process with SIGSEGV. It
///   did in this repository's unit tests (about 1 360 descriptors open at the time; swift-corelibs-foundation fixed it
///   after Swift 6.3.1).
/// - `Process` learns that a child exited through a descriptor the child inherits, so a child that leaves a server
///   running (`pg_ctl start`) is never seen to exit.
///
/// A dedicated thread waits for the child (`waitid` without reaping, then `waitpid` under the lock), so ``signal(_:)``
/// never reaches a process id the system has handed to another process.
package final class ChildProcess: Sendable {
    /// Where the child's standard output and error go.
    package enum Output: Sendable, Hashable {
        /// This process's own.
        case inherit
        /// `/dev/null`.
        case discard
        /// Appended to the file at this path, created if missing.
        case file(String)
    }

    /// The child's process id. Valid for signals only through ``signal(_:)``, which stops once the child is reaped.
    package let processIdentifier: Int32

    private struct State {
        var exitStatus: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Mutex(State())
    /// Signalled once the child is reaped, for ``waitUntilExitBlocking()``; each blocked waiter passes it on.
    private let reaped = DispatchSemaphore(value: 0)

    private init(processIdentifier: Int32) {
        self.processIdentifier = processIdentifier
    }

    /// Starts `command` (an executable's path and its arguments).
    ///
    /// - Throws: ``ChildProcessError`` when the command is empty or `posix_spawn` fails (the message names the
    ///   executable and the system's reason).
    package static func start(
        _ command: [String],
        output: Output = .discard,
        environment: [String: String]? = nil
    ) throws(ChildProcessError) -> ChildProcess {
        guard let executable = command.first else { throw ChildProcessError(description: "no command to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .inherit:
            break
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A task's thread blocks some signals (SIGTERM among them); a child inherits the mask of the thread that
        // starts it, and nginx then ignored SIGTERM.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        let environmentStrings: [UnsafeMutablePointer<CChar>?]? =
            environment.map { variables in variables.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for variable in environmentStrings ?? [] { free(variable) } }
        var pid = pid_t()
        let result: Int32
        if let environmentStrings {
            result = posix_spawn(&pid, executable, &actions, &attributes, arguments, environmentStrings)
        } else {
            result = posix_spawn(&pid, executable, &actions, &attributes, arguments, environ)
        }
        guard result == 0 else {
            throw ChildProcessError(description: "cannot run \(executable): \(String(cString: strerror(result)))")
        }
        let child = ChildProcess(processIdentifier: pid)
        child.startReaper()
        return child
    }

    /// Runs `command` to its end; its exit status (128 + the signal when a signal ended it).
    package static func run(
        _ command: [String],
        output: Output = .discard,
        environment: [String: String]? = nil
    ) async throws(ChildProcessError) -> Int32 {
        try await start(command, output: output, environment: environment).waitUntilExit()
    }

    /// Whether the child has not been reaped yet.
    package var isRunning: Bool { state.withLock { $0.exitStatus == nil } }

    /// The exit status once the child ended: its exit code, or 128 + the signal that ended it.
    package var exitStatus: Int32? { state.withLock { $0.exitStatus } }

    /// Sends `number` to the child unless it has been reaped (its id may then name another process).
    package func signal(_ number: Int32) {
        state.withLock { state in
            if state.exitStatus == nil { _ = kill(processIdentifier, number) }
        }
    }

    /// Waits for the child to end; its exit status.
    package func waitUntilExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if state.exitStatus == nil { state.waiters.append(continuation) }
                return state.exitStatus
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Blocks the calling thread until the child ends: for exit handlers and `deinit`, where no task can wait.
    package func waitUntilExitBlocking() -> Int32 {
        if let status = exitStatus { return status }
        reaped.wait()
        reaped.signal()
        return exitStatus ?? -1
    }

    private func startReaper() {
        let unmanaged = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let created = pthread_create(
            &thread,
            nil,
            { argument in
                #if canImport(Darwin)
                let child = Unmanaged<ChildProcess>.fromOpaque(argument).takeRetainedValue()
                #else
                let child = Unmanaged<ChildProcess>.fromOpaque(argument!).takeRetainedValue()
                #endif
                child.reap()
                return nil
            },
            unmanaged.toOpaque()
        )
        if created == 0 {
            pthread_detach(thread)
        } else {
            // No thread: wait here (the child cannot be left unreaped, and no caller can be left waiting).
            unmanaged.takeRetainedValue().reap()
        }
    }

    /// Waits for the child without reaping it, then reaps it and records its status under the lock, so that no
    /// signal is sent between the reaping and the record.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        let waiters = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(processIdentifier, &status, 0) } while reaped < 0 && errno == EINTR
            let signal = status & 0x7f
            state.exitStatus = reaped < 0 ? -1 : signal == 0 ? (status >> 8) & 0xff : 128 + signal
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        reaped.signal()
        let status = exitStatus ?? -1
        for waiter in waiters { waiter.resume(returning: status) }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module does not
    /// declare; looked up once.
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Makes the child close every descriptor above standard error: all of them where glibc can, otherwise those
    /// open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom, closeFrom(&actions, 3) == 0 { return }
        guard let listing = DirectoryNames.names(in: "/proc/self/fd") else { return }
        for name in listing.names {
            if let descriptor = Int32(name), descriptor > 2, descriptor != listing.streamDescriptor {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }
    }
}

/// A program could not be started.
package struct ChildProcessError: Error, CustomStringConvertible {
    /// What failed, naming the program and the system's reason.
    package var description: String
}
