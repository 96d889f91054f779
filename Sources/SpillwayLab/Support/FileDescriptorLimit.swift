#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileDescriptorLimit {
    /// Raises the soft limit on open files to the hard limit (a spike with long client deadlines needs one socket per
    /// request in flight, twice over when the victim is in the same process); returns the soft limit now in force.
    @discardableResult
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Grows the process's descriptor table to hold descriptors up to `count` (at most the soft limit) now, so that
    /// the kernel never grows it while a run is opening connections.
    ///
    /// Linux grows a shared descriptor table by copying it and waiting for an RCU grace period
    /// (`expand_files` → `synchronize_rcu`), which puts the thread that opens the next socket to sleep for
    /// milliseconds. In a spike the generator opens thousands of connections on its one thread, so each doubling
    /// (1 024 → 2 048 → … → 16 384) stopped sending for a while: traced with `perf record -e sched:sched_switch -g`
    /// on `spillway demo --quick --scenario spike --arm unprotected`, the generator's loop slept in `expand_files`
    /// five times, and the arm's send-lag p99 was 10.7–11.6 ms (invalid) in three runs of three. Opening one
    /// descriptor at the top (`F_DUPFD` takes the lowest free number at or above the one asked for, so nothing open is
    /// touched) and closing it leaves the table at its full size: it never shrinks.
    static func presizeTable(upTo count: Int) {
        let limit = raiseToHardLimit()
        let highest = min(count, limit) - 1
        guard highest > 1024 else { return }
        let probe = open("/dev/null", O_RDONLY)
        guard probe >= 0 else { return }
        defer { close(probe) }
        let high = fcntl(probe, F_DUPFD, Int32(clamping: highest))
        if high >= 0 { close(high) }
    }
}
