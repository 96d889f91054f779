import Foundation
import Spillway
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ``ChildProcess``: how the lab starts HAProxy and nginx, and the tests their servers.
@Suite(.timeLimit(.minutes(1))) struct ChildProcessTests {
    @Test func theExitStatusIsTheChildsOrTheSignalsAbove128() async throws {
        #expect(try await ChildProcess.run(["/bin/sh", "-c", "exit 3"]) == 3)
        #expect(try await ChildProcess.run(["/bin/sh", "-c", "kill -KILL $$"]) == 128 + SIGKILL)
        let child = try ChildProcess.start(["/bin/true"])
        #expect(await child.waitUntilExit() == 0)
        // Every way of asking agrees once it ended, and a late signal goes nowhere.
        #expect(child.waitUntilExitBlocking() == 0)
        #expect(child.exitStatus == 0)
        #expect(!child.isRunning)
        child.signal(SIGKILL)
        #expect(await child.waitUntilExit() == 0)
    }

    @Test func outputGoesToTheFileAppendedAndInputIsEmpty() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let first = ["/bin/sh", "-c", "echo out; echo err >&2; cat; echo done"]
        #expect(try await ChildProcess.run(first, output: .file(log.path)) == 0)
        #expect(try await ChildProcess.run(["/bin/echo", "again"], output: .file(log.path)) == 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text == "out\nerr\ndone\nagain\n")
    }

    @Test func theEnvironmentIsTheOneGivenOrThisProcesss() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let command = ["/bin/sh", "-c", "echo \"[$SPILLWAY_CHILD_TEST]\""]
        let given = ["SPILLWAY_CHILD_TEST": "x"]
        #expect(try await ChildProcess.run(command, output: .file(log.path), environment: given) == 0)
        #expect(try await ChildProcess.run(command, output: .file(log.path)) == 0)
        #expect(try String(contentsOf: log, encoding: .utf8) == "[x]\n[]\n")
    }

    /// A task's thread blocks SIGTERM; a child started with Foundation's `Process` from it inherited the mask, and
    /// nginx then never saw the lab's SIGTERM. Here the child's mask is empty: SIGTERM ends it.
    @Test func signalsReachTheChildWhateverTheStartingThreadBlocks() async throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let child: ChildProcess
        do {
            child = try ChildProcess.start(["/bin/sleep", "30"])
        } catch {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            throw error
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(await child.waitUntilExit() == 128 + SIGTERM)
    }

    #if os(Linux)
    /// The child keeps standard input, output and error only: a descriptor this process has open (without
    /// close-on-exec) does not leak into it.
    @Test func noOtherDescriptorIsInherited() async throws {
        let descriptor = open("/dev/null", O_RDONLY)
        try #require(descriptor > 2)
        defer { close(descriptor) }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let check = "test -e /proc/$$/fd/\(descriptor) && echo leaked; true"
        let status = try await ChildProcess.run(["/bin/sh", "-c", check], output: .file(log.path))
        #expect(status == 0)
        #expect(try String(contentsOf: log, encoding: .utf8) == "")
    }
    #endif

    @Test func aProgramThatCannotStartIsAnErrorNamingIt() throws {
        let missing = "/nonexistent-\(UUID().uuidString)"
        #expect {
            _ = try ChildProcess.start([missing])
        } throws: { error in
            (error as? ChildProcessError)?.description.contains(missing) == true
        }
        #expect(throws: ChildProcessError.self) { _ = try ChildProcess.start([]) }
    }
}
