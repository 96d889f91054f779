import Foundation

/// Payloads are stored as JSON text: readable in `spillway jobs show`, and the same in SQLite and PostgreSQL.
enum JobPayloadCoding {
    static func encode<P: JobPayload>(_ payload: P) throws(JobError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(payload), as: UTF8.self)
        } catch {
            throw JobError(.invalidArgument, "the \(P.kind) payload does not encode as JSON", underlying: error)
        }
    }

    static func decode<P: JobPayload>(_ type: P.Type, from text: String, id: JobID) throws(JobError) -> P {
        do {
            return try JSONDecoder().decode(P.self, from: Data(text.utf8))
        } catch {
            throw JobError(
                .undecodablePayload,
                "job \(id)'s payload does not decode as \(P.self) (kind \(P.kind)); was it enqueued by a version "
                    + "with another payload shape? Payload: \(text.prefix(200))",
                underlying: error
            )
        }
    }
}
