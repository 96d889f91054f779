import Foundation
import Spillway
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DirectoryNamesTests {
    @Test func namesAreTheEntriesOfTheDirectoryWithoutDotAndDotDot() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spillway-names-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let expected = ["a", "13046", String(repeating: "n", count: 200), "é-ü"]
        for name in expected {
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()))
        }
        let listing = try #require(DirectoryNames.names(in: directory))
        #expect(listing.names.sorted() == expected.sorted())
    }

    @Test func aDirectoryThatCannotBeOpenedIsNil() {
        #expect(DirectoryNames.names(in: "/nonexistent-\(UUID().uuidString)") == nil)
    }

    #if os(Linux)
    @Test func theOwnDescriptorListIncludesTheStreamAndANewlyOpenedFile() throws {
        let descriptor = open("/dev/null", O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let listing = try #require(DirectoryNames.names(in: "/proc/self/fd"))
        #expect(listing.names.contains(String(descriptor)))
        #expect(listing.names.contains(String(listing.streamDescriptor)))
    }

    /// The record of a short name placed so that its name ends a few bytes before an inaccessible page, as the last
    /// record of `readdir`'s buffer can be: the name is read up to its NUL and no further. Copying `d_name` (a
    /// 256-byte tuple) from this record, as `entry.pointee.d_name` does, faults — the crash this type exists to
    /// prevent.
    @Test func aShortNameAtTheEndOfAMappingIsReadWithoutTouchingTheNextPage() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        try #require(mapping != MAP_FAILED)
        let base = try #require(mapping)
        defer { munmap(base, 2 * page) }
        try #require(mprotect(base + page, page, PROT_NONE) == 0)

        let nameOffset = try #require(MemoryLayout<dirent>.offset(of: \dirent.d_name))
        let name = Array("13046".utf8) + [0]
        // 8-byte aligned, as the kernel aligns its records; the name's NUL ends the record's bytes.
        let recordLength = (nameOffset + name.count + 7) & ~7
        let record = base + page - recordLength
        for (index, byte) in name.enumerated() {
            record.storeBytes(of: byte, toByteOffset: nameOffset + index, as: UInt8.self)
        }
        let entry = UnsafePointer(record.assumingMemoryBound(to: dirent.self))
        #expect(String(cString: DirectoryNames.name(of: entry)) == "13046")
    }
    #endif
}
