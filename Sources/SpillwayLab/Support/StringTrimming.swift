extension StringProtocol {
    func trimmingCharacters(in set: String) -> Substring {
        let characters = Set(set)
        guard let start = firstIndex(where: { !characters.contains($0) }) else { return "" }
        let end = lastIndex(where: { !characters.contains($0) })!
        return Substring(self[start...end])
    }
}
