import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CPU time a PostgreSQL server has used: the postmaster, its live children (every backend is one), and the
/// children it already reaped, read from Linux's `/proc`.
///
/// ```swift
/// let before = ServerCPU.seconds(postmaster: pid)
/// // … load …
/// let cores = (ServerCPU.seconds(postmaster: pid)! - before!) / elapsedSeconds
/// ```
package enum ServerCPU {
    /// User plus system CPU seconds of the server whose postmaster is `postmaster`; `nil` where `/proc` is missing
    /// or the process is gone.
    package static func seconds(postmaster: Int32) -> Double? {
        guard let own = stat(of: postmaster) else { return nil }
        var ticks = own.user + own.system + own.childrenUser + own.childrenSystem
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != postmaster, let child = stat(of: pid), child.parent == postmaster
            else { continue }
            ticks += child.user + child.system
        }
        let perSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        return Double(ticks) / (perSecond > 0 ? perSecond : 100)
    }

    struct Stat {
        var parent: Int32
        var user: UInt64
        var system: UInt64
        var childrenUser: UInt64
        var childrenSystem: UInt64
    }

    /// Fields 4 and 14–17 of `/proc/<pid>/stat` (the command name in field 2 may hold spaces and parentheses, so
    /// fields are counted after its closing parenthesis).
    static func stat(of pid: Int32) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(text)
    }

    static func parse(_ text: String) -> Stat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        guard fields.count > 14, let parent = Int32(fields[1]), let user = UInt64(fields[11]),
            let system = UInt64(fields[12]), let childrenUser = UInt64(fields[13]),
            let childrenSystem = UInt64(fields[14])
        else { return nil }
        return Stat(
            parent: parent,
            user: user,
            system: system,
            childrenUser: childrenUser,
            childrenSystem: childrenSystem
        )
    }
}
