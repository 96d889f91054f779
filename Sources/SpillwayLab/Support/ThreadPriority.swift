import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum ThreadPriority {
    /// Asks the scheduler to run the calling thread as soon as it wakes, best effort: real-time round-robin at the
    /// lowest real-time priority when the process may (root or CAP_SYS_NICE), otherwise nice −10 when allowed,
    /// otherwise nothing.
    ///
    /// The generator's event loop calls it so that, on a machine busy with other work, arrivals still leave on
    /// time: the loop needs a fraction of a core, but under time-sharing it can wait tens of milliseconds for one.
    /// Linux's real-time throttling keeps a runaway thread from taking more than 95 % of a core.
    static func favourCurrentThread() {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = 1
        if pthread_setschedparam(pthread_self(), SCHED_RR, &parameters) == 0 { return }
        // On Linux the nice value belongs to the thread: `who == 0` is the calling thread only.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
        #endif
    }

    /// Gives every thread of the process nice −10 when allowed (root or CAP_SYS_NICE), best effort.
    ///
    /// The in-process victim's capacity is modelled with sleeps, but parsing requests and writing responses takes
    /// CPU; on a machine busy with other work, a time-shared victim falls behind on that CPU work and the run
    /// measures the host, not the model. Threads created later inherit the value from the thread that creates them,
    /// so the lab calls this before each arm, once its threads exist.
    static func favourProcess() {
        #if os(Linux)
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return }
        for thread in threads {
            guard let id = id_t(thread) else { continue }
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id, -10)
        }
        #endif
    }
}
