#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry names of a directory, read with `opendir`/`readdir` (`/proc/self/fd` for the descriptors a process has
/// open).
///
/// An entry's name is read through a pointer to its `d_name` field, never as `entry.pointee.d_name`: Swift imports
/// `d_name` as a 256-byte tuple, so that expression copies 256 bytes, while the kernel packs each record to the
/// length of its name. Reading the whole tuple of the last record of `readdir`'s buffer read past the buffer; where
/// the buffer ended at the end of a mapping, the process died with SIGSEGV (a CI run of the load tests did, in the
/// process collector counting `/proc/self/fd` beside some thirteen thousand open descriptors).
package enum DirectoryNames {
    /// The byte offset of `d_name` in a directory entry.
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// The entry names of `path` other than `.` and `..`, and the descriptor of the directory stream they were read
    /// through (listed too when `path` is `/proc/self/fd`); `nil` if the directory cannot be opened.
    package static func names(in path: String) -> (names: [String], streamDescriptor: Int32)? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = String(cString: name(of: UnsafePointer(entry)))
            if name != "." && name != ".." { names.append(name) }
        }
        return (names, dirfd(directory))
    }

    /// A pointer to the NUL-terminated name of `entry`, inside the record `readdir` returned.
    package static func name(of entry: UnsafePointer<dirent>) -> UnsafePointer<CChar> {
        (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self)
    }
}
