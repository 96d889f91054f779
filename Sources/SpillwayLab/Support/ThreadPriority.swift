#if canImport(Glibc)
import Glibc
#endif

enum ThreadPriority {
    /// Asks the scheduler to run the calling thread as soon as it wakes, best effort: real-time round-robin at the
    /// lowest real-time priority when the process may (root or CAP_SYS_NICE), otherwise nice −5 when allowed,
    /// otherwise nothing.
    ///
    /// The generator's event loop calls it so that, on a machine busy with other work, arrivals still leave on
    /// time: the loop needs a fraction of a core, but under time-sharing it can wait tens of milliseconds for one.
    /// Only that thread is raised; the victim competes for the CPU like any server (its capacity is modelled with
    /// sleeps and does not depend on its CPU share). Linux's real-time throttling keeps a runaway thread from
    /// taking more than 95 % of a core.
    static func favourCurrentThread() {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = 1
        if pthread_setschedparam(pthread_self(), SCHED_RR, &parameters) == 0 { return }
        // On Linux the nice value belongs to the thread: `who == 0` is the calling thread only.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -5)
        #endif
    }
}
