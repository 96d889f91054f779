import Spillway

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One reading of the process's resources, the values of the Prometheus process collector.
///
/// Each field is `nil` where the platform does not provide it: open descriptors and resident memory are read from
/// Linux's `/proc/self` (`nil` elsewhere, or when `/proc` is not mounted); the descriptor limit comes from
/// `getrlimit(RLIMIT_NOFILE)` (`nil` when unlimited) and CPU time from `getrusage(RUSAGE_SELF)`.
///
/// ```swift
/// let sample = ProcessSample.current()
/// print(sample.openFileDescriptors ?? -1, sample.maxFileDescriptors ?? -1)
/// ```
public struct ProcessSample: Sendable, Equatable {
    /// Open file descriptors (the entries of `/proc/self/fd`, less the one used to list them).
    public var openFileDescriptors: Int?
    /// The soft descriptor limit, `RLIMIT_NOFILE`.
    public var maxFileDescriptors: Int?
    /// Resident memory in bytes (`/proc/self/statm`'s resident pages times the page size).
    public var residentMemoryBytes: Int?
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double?

    /// A sample with the given readings.
    public init(
        openFileDescriptors: Int? = nil,
        maxFileDescriptors: Int? = nil,
        residentMemoryBytes: Int? = nil,
        cpuSeconds: Double? = nil
    ) {
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
        self.residentMemoryBytes = residentMemoryBytes
        self.cpuSeconds = cpuSeconds
    }

    /// Reads the current process's resources.
    public static func current() -> ProcessSample {
        ProcessSample(
            openFileDescriptors: countOpenFileDescriptors(),
            maxFileDescriptors: fileDescriptorLimit(),
            residentMemoryBytes: residentMemory(),
            cpuSeconds: cpuTime()
        )
    }

    static func countOpenFileDescriptors() -> Int? {
        #if os(Linux)
        guard let listing = DirectoryNames.names(in: "/proc/self/fd") else { return nil }
        // The directory stream's own descriptor is listed too.
        return max(0, listing.names.count - 1)
        #else
        return nil
        #endif
    }

    static func fileDescriptorLimit() -> Int? {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue))
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    static func residentMemory() -> Int? {
        #if os(Linux)
        guard let file = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(file) }
        // "SIZE RESIDENT SHARED TEXT LIB DATA DT", in pages.
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard fields.count >= 2, let pages = Int(fields[1]), pageSize > 0 else { return nil }
        return pages * pageSize
        #else
        return nil
        #endif
    }

    static func cpuTime() -> Double? {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return nil }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
