import NIOCore
import Testing

@testable import SpillwayRedis

@Suite("Command encoding")
struct RESPCommandEncoderTests {
    func encoded(_ command: some RedisCommand) -> String {
        var encoder = RESPCommandEncoder()
        command.encode(into: &encoder)
        return String(buffer: encoder.buffer)
    }

    @Test("commands encode as RESP arrays of bulk strings")
    func typedCommands() {
        #expect(encoded(GET(key: "k")) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        #expect(encoded(SET(key: "k", value: "v")) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        #expect(
            encoded(SET(key: "k", value: "v", expiration: .seconds(10), condition: .ifNotExists))
                == "*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nEX\r\n$2\r\n10\r\n"
        )
        #expect(
            encoded(
                SET(
                    key: "k",
                    value: RedisArgument(ByteBuffer(bytes: [0, 13, 10])),
                    expiration: .milliseconds(5),
                    condition: .ifExists
                )
            )
                == "*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\0\r\n\r\n$2\r\nXX\r\n$2\r\nPX\r\n$1\r\n5\r\n"
        )
        #expect(encoded(DEL(keys: ["a", "bb"])) == "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbb\r\n")
        #expect(encoded(EXPIRE(key: "k", seconds: 7)) == "*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$1\r\n7\r\n")
        #expect(
            encoded(PEXPIRE(key: "k", milliseconds: 1500, condition: .ifLater))
                == "*4\r\n$7\r\nPEXPIRE\r\n$1\r\nk\r\n$4\r\n1500\r\n$2\r\nGT\r\n"
        )
        #expect(encoded(TTL(key: "k")) == "*2\r\n$3\r\nTTL\r\n$1\r\nk\r\n")
        #expect(encoded(PTTL(key: "k")) == "*2\r\n$4\r\nPTTL\r\n$1\r\nk\r\n")
        #expect(encoded(INCRBY(key: "n", increment: -3)) == "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$2\r\n-3\r\n")
        #expect(encoded(MGET(keys: ["a", "b"])) == "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n")
        #expect(encoded(TIME()) == "*1\r\n$4\r\nTIME\r\n")
        #expect(encoded(PING()) == "*1\r\n$4\r\nPING\r\n")
        #expect(encoded(PING(message: "hé")) == "*2\r\n$4\r\nPING\r\n$3\r\nhé\r\n")
        #expect(encoded(SCRIPT.LOAD(script: "return 1")) == "*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$8\r\nreturn 1\r\n")
        #expect(encoded(SCRIPT.FLUSH()) == "*2\r\n$6\r\nSCRIPT\r\n$5\r\nFLUSH\r\n")
        #expect(
            encoded(EVAL(script: "return 1", keys: ["k"], arguments: [2, "x"]))
                == "*6\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\n2\r\n$1\r\nx\r\n"
        )
        #expect(
            encoded(EVALSHA(sha1: "ab", keys: [], arguments: [])) == "*3\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n0\r\n"
        )
        #expect(
            encoded(HELLO(authentication: RedisAuthentication(password: "pw"), clientName: "c"))
                == "*7\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$2\r\npw\r\n"
                + "$7\r\nSETNAME\r\n$1\r\nc\r\n"
        )
        #expect(encoded(SELECT(database: 2)) == "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n")
        #expect(encoded(RedisRawCommand("CLIENT", "ID")) == "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n")
    }

    @Test("arguments render numbers as Redis parses them")
    func arguments() {
        #expect(
            encoded(RedisRawCommand(RedisArgument(2.5), RedisArgument(Double.infinity), RedisArgument(UInt8(7))))
                == "*3\r\n$3\r\n2.5\r\n$4\r\n+inf\r\n$1\r\n7\r\n"
        )
    }

    @Test("replies convert to the commands' response types")
    func responses() throws {
        #expect(try SET(key: "k", value: "v").decodeResponse(.simpleString("OK")) == true)
        #expect(try SET(key: "k", value: "v").decodeResponse(.null) == false)
        #expect(throws: RedisClientError.self) { try SET(key: "k", value: "v").decodeResponse(.integer(1)) }
        #expect(try GET(key: "k").decodeResponse(.null) == nil)
        #expect(try GET(key: "k").decodeResponse(bulk("v")) == ByteBuffer(string: "v"))
        #expect(try TTL(key: "k").decodeResponse(.integer(-2)) == .keyMissing)
        #expect(try TTL(key: "k").decodeResponse(.integer(-1)) == .noExpiry)
        #expect(try TTL(key: "k").decodeResponse(.integer(5)) == .expires(in: .seconds(5)))
        #expect(try PTTL(key: "k").decodeResponse(.integer(1500)) == .expires(in: .milliseconds(1500)))
        #expect(throws: RedisClientError.self) { try TTL(key: "k").decodeResponse(.integer(-3)) }
        #expect(
            try TIME().decodeResponse(.array([bulk("1700000000"), bulk("250")]))
                == RedisTime(seconds: 1_700_000_000, microseconds: 250)
        )
        #expect(
            try MGET(keys: ["a", "b"]).decodeResponse(.array([bulk("1"), .null])) == [ByteBuffer(string: "1"), nil]
        )
        #expect(try EXPIRE(key: "k", seconds: 1).decodeResponse(.integer(0)) == false)
        #expect(try [Int64?](fromRESP: .attributed(attributes: [], value: .array([.integer(1), .null]))) == [1, nil])
        #expect(try Double(fromRESP: bulk("2.5")) == 2.5)
        #expect(try String(fromRESP: .verbatimString(format: "txt", text: ByteBuffer(string: "hi"))) == "hi")
        #expect(throws: RedisClientError.self) { try Int(fromRESP: bulk("12x")) }
    }

    @Test("scripts are named by the SHA1 Redis computes")
    func scriptSHA() {
        #expect(SHA1.hexDigest(Array("".utf8)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        )
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
