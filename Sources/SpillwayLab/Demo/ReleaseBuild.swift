/// The release build that matches a debug `spillway` binary built by SwiftPM, so that `swift run spillway demo`
/// can build it and run the demo with it.
///
/// The demo's load generator and victim share one process. In a debug build the generator falls behind at the default
/// victim's 80 requests per second (its send lag passes 10 ms and the demo marks the arm invalid); a release build
/// keeps up on two cores.
package struct ReleaseBuild: Equatable, Sendable {
    /// The folder that holds `Package.swift`.
    package var packageRoot: String
    /// SwiftPM's scratch folder (`.build` by default).
    package var scratchPath: String
    /// The product to build.
    package var product: String
    /// The release binary, once built.
    package var binary: String

    /// The arguments of `swift` that build the release binary.
    package var buildArguments: [String] {
        ["build", "-c", "release", "--product", product, "--package-path", packageRoot, "--scratch-path", scratchPath]
    }

    /// The release build of the debug executable at `executablePath`, laid out as SwiftPM builds it
    /// (`<scratch>/<triple>/debug/<product>`), or nil when the path is not a debug binary in a scratch folder or no
    /// `Package.swift` is found: neither in the scratch folder's parent nor in `currentDirectory`.
    package static func matching(
        executablePath: String,
        currentDirectory: String,
        fileExists: (String) -> Bool
    ) -> ReleaseBuild? {
        var components = executablePath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard components.count >= 4, let product = components.popLast(), components.popLast() == "debug" else {
            return nil
        }
        let tripleFolder = path(components)
        components.removeLast()  // the triple
        let scratch = path(components)
        components.removeLast()
        let candidates = [path(components), currentDirectory]
        guard let root = candidates.first(where: { fileExists($0 + "/Package.swift") }) else { return nil }
        return ReleaseBuild(
            packageRoot: root,
            scratchPath: scratch,
            product: product,
            binary: tripleFolder + "/release/" + product
        )
    }

    private static func path(_ components: [String]) -> String {
        "/" + components.joined(separator: "/")
    }
}
