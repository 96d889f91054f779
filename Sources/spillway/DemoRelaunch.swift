import Foundation
import Spillway
import SpillwayLab

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the demo with the release build when `spillway` itself is a debug build: what `swift run spillway demo` gives.
///
/// In a debug build the demo's load generator falls behind at the default victim's 80 requests per second and the
/// demo marks those arms invalid. So a debug `spillway demo` builds the release binary once (`swift build -c release
/// --product spillway`: later runs find it up to date in seconds) and replaces itself with it. Setting
/// `SPILLWAY_DEMO_IN_THIS_BUILD=1` keeps the debug build.
enum DemoRelaunch {
    /// Set to 1 to run the demo in the build at hand.
    static let stayKey = "SPILLWAY_DEMO_IN_THIS_BUILD"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Builds the release binary and runs it with this process's arguments; returns only when this is not a
    /// SwiftPM debug build in a package folder (after saying so), or when the user asked to stay in this build.
    static func runInReleaseIfDebug() throws {
        #if DEBUG
        guard ProcessInfo.processInfo.environment[stayKey] != "1" else { return }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard
            let build = ReleaseBuild.matching(
                executablePath: executable,
                currentDirectory: FileManager.default.currentDirectoryPath,
                fileExists: { FileManager.default.fileExists(atPath: $0) }
            )
        else {
            print(
                """
                spillway demo: a debug build, and no package found to build the release binary from: the load \
                generator may fall behind and arms be marked invalid; `swift run -c release spillway demo` avoids it.
                """
            )
            return
        }
        print(
            """
            spillway demo: this is a debug build, in which the load generator falls behind at the demo's 80 requests \
            per second; building the release binary (swift \(build.buildArguments.joined(separator: " "))) and \
            running the demo with it. The first time takes minutes; \(stayKey)=1 stays in the debug build.
            """
        )
        fflush(nil)
        let status: Int32
        do {
            status = try ChildProcess.start(["/usr/bin/env", "swift"] + build.buildArguments, output: .inherit)
                .waitUntilExitBlocking()
        } catch {
            throw Failure(description: "could not start `swift build`: \(error); \(stayKey)=1 stays in the debug build")
        }
        guard status == 0 else {
            throw Failure(
                description: """
                    building the release binary failed (status \(status)): run `swift build -c \
                    release` to see why, or set \(stayKey)=1 to run the demo in this debug build
                    """
            )
        }
        setenv(stayKey, "1", 1)
        let arguments = [build.binary] + CommandLine.arguments.dropFirst()
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv(build.binary, cArguments)
        let reason = String(cString: strerror(errno))
        throw Failure(description: "could not run \(build.binary): \(reason)")
        #endif
    }
}
