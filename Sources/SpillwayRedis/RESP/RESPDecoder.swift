import NIOCore
import Spillway

/// An incremental RESP3 decoder: feed it bytes as they arrive, take complete values out.
///
/// The decoder consumes every complete token it can and keeps partially received aggregates in an explicit stack,
/// so a value split across any number of reads costs the same as one that arrived whole, and nesting never recurses
/// (depth is bounded by ``RESPDecoderLimits/maximumDepth`` anyway). A bulk payload is taken only once all of its
/// bytes are buffered. `decode(buffer:)` returns `nil` when it needs more bytes; it never returns a value built
/// from an incomplete one. After it throws, the stream is out of sync and the decoder must be discarded.
///
/// ```swift
/// var decoder = RESPDecoder()
/// var bytes = ByteBuffer(string: "*2\r\n:1\r\n$3\r\nf")
/// try decoder.decode(buffer: &bytes)          // nil: the bulk string is incomplete
/// bytes.writeString("oo\r\n")
/// try decoder.decode(buffer: &bytes)          // .array([.integer(1), .bulkString("foo")])
/// ```
public struct RESPDecoder: Sendable {
    /// The limits this decoder enforces.
    public let limits: RESPDecoderLimits

    private enum AggregateKind: Sendable {
        case array, set, push, map, attribute
        /// The value that follows a complete attribute; it becomes `.attributed(attributes:value:)`.
        case attributed([RESPValue.Entry])
    }

    private struct Frame: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue]
    }

    private enum BulkKind: Sendable { case string, error, verbatim }

    private var stack: [Frame] = []
    /// A bulk header already consumed whose payload (and `\r\n`) has not fully arrived.
    private var pendingBulk: (kind: BulkKind, length: Int)?
    /// Bytes of the current, unterminated line already searched for `\n`, so a line trickling in is scanned once.
    private var scannedLineBytes = 0
    /// What the top-level value being decoded costs so far (see ``RESPDecoderLimits/maximumReplySize``).
    private var replySize = 0
    /// The memory one decoded value takes besides its payload.
    static let valueSize = MemoryLayout<RESPValue>.stride

    /// A decoder enforcing `limits`.
    public init(limits: RESPDecoderLimits = RESPDecoderLimits()) {
        self.limits = limits
    }

    /// Element slots currently reserved by partially decoded aggregates (for tests of the allocation bound).
    var reservedElementCapacity: Int { stack.reduce(0) { $0 + $1.elements.capacity } }

    /// Whether part of a value has been consumed and the rest is still to come.
    var isMidValue: Bool { replySize > 0 || scannedLineBytes > 0 || pendingBulk != nil || !stack.isEmpty }

    /// Adds `cost` to the size of the reply being decoded.
    /// - Throws: `RESPParsingError.Code.replyTooLarge` past ``RESPDecoderLimits/maximumReplySize``.
    private mutating func charge(_ cost: Int) throws(RESPParsingError) {
        let (total, overflow) = replySize.addingReportingOverflow(cost)
        guard !overflow, total <= limits.maximumReplySize else {
            throw RESPParsingError(
                .replyTooLarge,
                "one reply would take more than \(limits.maximumReplySize) bytes (RESPDecoderLimits.maximumReplySize)"
            )
        }
        replySize = total
    }

    /// Consumes bytes from `buffer` and returns the next complete top-level value, or `nil` when more bytes are needed.
    ///
    /// Bytes of tokens that are complete are consumed even when the value is not complete yet; call again with the
    /// same buffer once more bytes have been appended to it.
    public mutating func decode(buffer: inout ByteBuffer) throws(RESPParsingError) -> RESPValue? {
        tokens: while true {
            var completed: RESPValue
            if let bulk = pendingBulk {
                guard buffer.readableBytes - 2 >= bulk.length else { return nil }
                let payload = buffer.readSlice(length: bulk.length)!
                // Charged in full at the header, so that the bytes were never buffered beyond the bound.
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw RESPParsingError(
                        .missingCRLF,
                        "a \(bulk.length)-byte bulk payload was not followed by \\r\\n"
                    )
                }
                pendingBulk = nil
                completed = try Self.bulkValue(bulk.kind, payload)
            } else {
                guard let (type, line) = try readLine(&buffer) else { return nil }
                try charge(line.count + 3 + Self.valueSize)
                switch type {
                case UInt8(ascii: "+"):
                    completed = .simpleString(String(decoding: line, as: UTF8.self))
                case UInt8(ascii: "-"):
                    completed = .simpleError(String(decoding: line, as: UTF8.self))
                case UInt8(ascii: ":"):
                    guard let value = Self.parseInteger(line) else {
                        throw RESPParsingError(.invalidInteger, "integer line \(Self.quote(line))")
                    }
                    completed = .integer(value)
                case UInt8(ascii: "_"):
                    guard line.isEmpty else { throw RESPParsingError(.invalidNull, "null line \(Self.quote(line))") }
                    completed = .null
                case UInt8(ascii: ","):
                    completed = .double(try Self.parseDouble(line))
                case UInt8(ascii: "#"):
                    switch line.count == 1 ? line.first : nil {
                    case UInt8(ascii: "t"): completed = .boolean(true)
                    case UInt8(ascii: "f"): completed = .boolean(false)
                    default: throw RESPParsingError(.invalidBoolean, "boolean line \(Self.quote(line))")
                    }
                case UInt8(ascii: "("):
                    completed = .bigNumber(try Self.parseBigNumber(line))
                case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                    guard
                        let length = try Self.parseLength(
                            line,
                            allowsNull: type == UInt8(ascii: "$"),
                            limit: (limits.maximumBulkLength, "maximumBulkLength", .bulkTooLong, "bytes")
                        )
                    else {
                        completed = .null
                        break
                    }
                    try charge(length > Int.max - 2 ? Int.max : length + 2)
                    let kind: BulkKind =
                        type == UInt8(ascii: "$") ? .string : type == UInt8(ascii: "!") ? .error : .verbatim
                    pendingBulk = (kind, length)
                    continue tokens
                default:
                    // The type byte was validated by `readLine`, so this is an aggregate header.
                    guard
                        let count = try Self.parseLength(
                            line,
                            allowsNull: type == UInt8(ascii: "*"),
                            limit: (
                                limits.maximumAggregateCount, "maximumAggregateCount", .aggregateTooLarge, "elements"
                            )
                        )
                    else {
                        completed = .null
                        break
                    }
                    guard stack.count < limits.maximumDepth else {
                        throw RESPParsingError(
                            .nestingTooDeep,
                            "more than \(limits.maximumDepth) nested aggregates (RESPDecoderLimits.maximumDepth)"
                        )
                    }
                    let kind: AggregateKind
                    switch type {
                    case UInt8(ascii: "*"): kind = .array
                    case UInt8(ascii: "~"): kind = .set
                    case UInt8(ascii: ">"): kind = .push
                    case UInt8(ascii: "%"): kind = .map
                    default: kind = .attribute
                    }
                    let slots: Int
                    switch kind {
                    case .map, .attribute:
                        let (doubled, overflow) = count.multipliedReportingOverflow(by: 2)
                        guard !overflow else {
                            throw RESPParsingError(.aggregateTooLarge, "declared \(count) pairs")
                        }
                        slots = doubled
                    default: slots = count
                    }
                    // Each element takes at least `_\r\n` and a value: refuse at once what cannot fit.
                    let (smallest, overflow) = slots.multipliedReportingOverflow(by: 3 + Self.valueSize)
                    guard !overflow, replySize + smallest <= limits.maximumReplySize else {
                        throw RESPParsingError(
                            .replyTooLarge,
                            "declared \(count) elements, more than one reply may hold within "
                                + "\(limits.maximumReplySize) bytes (RESPDecoderLimits.maximumReplySize)"
                        )
                    }
                    if slots == 0 {
                        switch kind {
                        case .array: completed = .array([])
                        case .set: completed = .set([])
                        case .push: completed = .push([])
                        case .map: completed = .map([])
                        default:
                            stack.append(Frame(kind: .attributed([]), remaining: 1, elements: []))
                            continue tokens
                        }
                    } else {
                        var elements: [RESPValue] = []
                        elements.reserveCapacity(min(slots, RESPDecoderLimits.initialReservation))
                        stack.append(Frame(kind: kind, remaining: slots, elements: elements))
                        continue tokens
                    }
                }
            }

            while !stack.isEmpty {
                let top = stack.count - 1
                stack[top].elements.append(completed)
                stack[top].remaining -= 1
                if stack[top].remaining > 0 { continue tokens }
                let frame = stack.removeLast()
                switch frame.kind {
                case .array: completed = .array(frame.elements)
                case .set: completed = .set(frame.elements)
                case .push: completed = .push(frame.elements)
                case .map: completed = .map(Self.pairs(frame.elements))
                case .attribute:
                    // The attributes describe the next value; that value takes the attribute's place in its parent.
                    stack.append(Frame(kind: .attributed(Self.pairs(frame.elements)), remaining: 1, elements: []))
                    continue tokens
                case .attributed(let attributes):
                    completed = .attributed(attributes: attributes, value: frame.elements[0])
                }
            }
            replySize = 0
            return completed
        }
    }

    /// Reads `<type><line>\r\n` when complete; validates the type byte as soon as it arrives.
    private mutating func readLine(_ buffer: inout ByteBuffer) throws(RESPParsingError) -> (UInt8, ByteBufferView)? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard Self.isTypeByte(type) else {
            throw RESPParsingError(.invalidTypeByte, "byte 0x\(String(type, radix: 16)) starts no RESP3 type")
        }
        let view = buffer.readableBytesView
        let searchStart = view.startIndex + max(1, scannedLineBytes)
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scannedLineBytes = view.count
            // type byte + content + `\r` already exceed the longest acceptable line.
            if view.count > limits.maximumLineLength + 2 {
                throw RESPParsingError(
                    .lineTooLong,
                    "no \\r\\n within \(limits.maximumLineLength) bytes (RESPDecoderLimits.maximumLineLength)"
                )
            }
            return nil
        }
        scannedLineBytes = 0
        let contentLength = newline - view.startIndex - 2
        guard contentLength >= 0, view[newline - 1] == UInt8(ascii: "\r") else {
            throw RESPParsingError(.missingCRLF, "a line ended with \\n instead of \\r\\n")
        }
        guard contentLength <= limits.maximumLineLength else {
            throw RESPParsingError(
                .lineTooLong,
                "\(contentLength)-byte line, limit \(limits.maximumLineLength) (RESPDecoderLimits.maximumLineLength)"
            )
        }
        let line = view[(view.startIndex + 1)..<(newline - 1)]
        buffer.moveReaderIndex(forwardBy: contentLength + 3)
        return (type, line)
    }

    private static func isTypeByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "_"),
            UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "("), UInt8(ascii: "!"), UInt8(ascii: "="),
            UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: "|"), UInt8(ascii: ">"):
            return true
        default:
            return false
        }
    }

    private static func bulkValue(_ kind: BulkKind, _ payload: ByteBuffer) throws(RESPParsingError) -> RESPValue {
        switch kind {
        case .string:
            return .bulkString(payload)
        case .error:
            return .bulkError(payload)
        case .verbatim:
            var payload = payload
            guard payload.readableBytes >= 4, payload.getInteger(at: payload.readerIndex + 3, as: UInt8.self) == 58,
                let format = payload.readString(length: 3)
            else {
                throw RESPParsingError(.invalidVerbatimString, "verbatim string without a 3-byte format and ':'")
            }
            payload.moveReaderIndex(forwardBy: 1)
            return .verbatimString(format: format, text: payload)
        }
    }

    private static func pairs(_ elements: [RESPValue]) -> [RESPValue.Entry] {
        var entries: [RESPValue.Entry] = []
        entries.reserveCapacity(elements.count / 2)
        var index = 0
        while index + 1 < elements.count {
            entries.append(RESPValue.Entry(key: elements[index], value: elements[index + 1]))
            index += 2
        }
        return entries
    }

    /// The length or element count a bulk or aggregate header declares, `nil` for RESP2's null (`-1`, where
    /// `allowsNull`); a count over `limit` (the ``RESPDecoderLimits`` property `limit.name`) throws `limit.code`.
    private static func parseLength(
        _ line: ByteBufferView,
        allowsNull: Bool,
        limit: (value: Int, name: String, code: RESPParsingError.Code, unit: String)
    ) throws(RESPParsingError) -> Int? {
        if line.count == 1, line.first == UInt8(ascii: "?") {
            throw RESPParsingError(.streamedTypeUnsupported, "streamed strings and aggregates are not supported")
        }
        guard let value = parseInteger(line), value >= 0 || (allowsNull && value == -1),
            line.first != UInt8(ascii: "+")
        else {
            throw RESPParsingError(.invalidLength, "length \(quote(line))")
        }
        guard value >= 0 else { return nil }
        let length = Int(value)
        guard length <= limit.value else {
            throw RESPParsingError(
                limit.code,
                "declared \(length) \(limit.unit), limit \(limit.value) (RESPDecoderLimits.\(limit.name))"
            )
        }
        return length
    }

    /// A decimal Int64 with an optional sign; `nil` on anything else, including overflow.
    static func parseInteger(_ line: ByteBufferView) -> Int64? {
        var index = line.startIndex
        guard index < line.endIndex else { return nil }
        let negative = line[index] == UInt8(ascii: "-")
        if negative || line[index] == UInt8(ascii: "+") { index += 1 }
        guard index < line.endIndex, line.endIndex - index <= 19 else { return nil }
        var magnitude: UInt64 = 0
        while index < line.endIndex {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            magnitude = magnitude * 10 + UInt64(digit)
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    private static func parseDouble(_ line: ByteBufferView) throws(RESPParsingError) -> Double {
        let text = String(decoding: line, as: UTF8.self)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        let allowed = line.allSatisfy { byte in
            byte.isASCIIDigit || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                || byte == UInt8(ascii: "E")
        }
        guard allowed, let value = Double(text) else {
            throw RESPParsingError(.invalidDouble, "double line \(quote(line))")
        }
        return value
    }

    private static func parseBigNumber(_ line: ByteBufferView) throws(RESPParsingError) -> String {
        var digits = line[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else {
            throw RESPParsingError(.invalidBigNumber, "big number line \(quote(line))")
        }
        return String(decoding: line, as: UTF8.self)
    }

    private static func quote(_ line: ByteBufferView) -> String {
        let prefix = line.prefix(32)
        let text = String(decoding: prefix, as: UTF8.self).unicodeScalars
            .map { $0.isASCII && $0.value >= 32 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
        return "\"\(text)\(line.count > 32 ? "…" : "")\""
    }
}

extension RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    /// Like ``decode(buffer:)``; bytes of an incomplete value left at end of stream are ignored by the caller.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try decode(buffer: &buffer)
    }
}
