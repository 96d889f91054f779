import Dispatch
import Spillway

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program to its end with `posix_spawn`, its output appended to a file and no other descriptor inherited.
///
/// Foundation's `Process` cannot run `pg_ctl start`: it learns that a child exited through a descriptor the child
/// inherits, and the PostgreSQL server `pg_ctl` leaves running inherits it too, so the exit is never noticed. Here the
/// child keeps only standard input (`/dev/null`), output and error (the file); the parent waits with `waitpid` on a
/// dispatch thread, never on a task's thread.
enum ChildProcess {
    /// Runs `command` (an absolute path and its arguments) and returns its exit status (128 + the signal when a
    /// signal ended it).
    static func run(_ command: [String], output: String) async throws(LocalPostgresError) -> Int32 {
        let pid = try spawn(command, output: output)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: wait(for: pid))
            }
        }
    }

    /// Runs `command` and blocks the calling thread until it ends: for exit handlers, where no task runs any more.
    static func runSynchronously(_ command: [String], output: String) -> Int32? {
        guard let pid = try? spawn(command, output: output) else { return nil }
        return wait(for: pid)
    }

    private static func spawn(_ command: [String], output: String) throws(LocalPostgresError) -> pid_t {
        guard let executable = command.first else {
            throw LocalPostgresError(.commandFailed, "no command to run")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
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
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, arguments, environ)
        guard result == 0 else {
            throw LocalPostgresError(.commandFailed, "cannot run \(executable): \(String(cString: strerror(result)))")
        }
        return pid
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

    private static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
