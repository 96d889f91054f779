import Testing

@testable import SpillwayLab

@Suite struct ReleaseBuildTests {
    @Test func aDebugBinaryInThePackagesScratchFolderMapsToItsReleaseSibling() throws {
        let build = try #require(
            ReleaseBuild.matching(
                executablePath: "/home/me/spillway/.build/x86_64-unknown-linux-gnu/debug/spillway",
                currentDirectory: "/tmp",
                fileExists: { $0 == "/home/me/spillway/Package.swift" }
            )
        )
        #expect(build.packageRoot == "/home/me/spillway")
        #expect(build.scratchPath == "/home/me/spillway/.build")
        #expect(build.binary == "/home/me/spillway/.build/x86_64-unknown-linux-gnu/release/spillway")
        #expect(
            build.buildArguments == [
                "build", "-c", "release", "--product", "spillway", "--package-path", "/home/me/spillway",
                "--scratch-path", "/home/me/spillway/.build",
            ]
        )
    }

    @Test func aScratchFolderElsewhereUsesThePackageInTheCurrentDirectory() throws {
        let build = try #require(
            ReleaseBuild.matching(
                executablePath: "/var/cache/b/aarch64-unknown-linux-gnu/debug/spillway",
                currentDirectory: "/src/spillway",
                fileExists: { $0 == "/src/spillway/Package.swift" }
            )
        )
        #expect(build.packageRoot == "/src/spillway")
        #expect(build.scratchPath == "/var/cache/b")
        #expect(build.binary == "/var/cache/b/aarch64-unknown-linux-gnu/release/spillway")
    }

    @Test func notADebugBinaryOrNoPackageMeansNoReleaseBuild() {
        let everywhere: (String) -> Bool = { _ in true }
        #expect(
            ReleaseBuild.matching(
                executablePath: "/p/.build/x86_64-unknown-linux-gnu/release/spillway",
                currentDirectory: "/p",
                fileExists: everywhere
            ) == nil
        )
        #expect(
            ReleaseBuild.matching(executablePath: "/usr/bin/spillway", currentDirectory: "/p", fileExists: everywhere)
                == nil
        )
        #expect(
            ReleaseBuild.matching(executablePath: "/debug/spillway", currentDirectory: "/p", fileExists: everywhere)
                == nil
        )
        #expect(
            ReleaseBuild.matching(
                executablePath: "/p/.build/x86_64-unknown-linux-gnu/debug/spillway",
                currentDirectory: "/q",
                fileExists: { _ in false }
            ) == nil
        )
    }
}
