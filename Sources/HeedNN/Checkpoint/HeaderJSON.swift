/// A small strict JSON parser for safetensors headers (RFC 8259, nothing more).
///
/// Why not Foundation's: its objects are dictionaries, so a duplicated key silently keeps one
/// value (the safetensors spec forbids duplicates, and a checkpoint whose `weight` appears twice
/// should be an error, not a coin toss); its numbers go through Double, so an offset above 2⁵³
/// would be rounded instead of rejected; and its recursion has no depth limit we control. Here
/// objects keep every member in order, numbers keep their text, and nesting stops at 64 levels,
/// so no input can overflow the stack.
enum JSONValue {
    case null
    case bool(Bool)
    /// The number's text, exactly as written (grammar already checked).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order, duplicates included.
    case object([JSONMember])
}

struct JSONMember {
    let key: String
    let value: JSONValue
}

struct JSONSyntaxError: Error {
    let reason: String
}

struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0

    /// Parses one JSON value surrounded by optional whitespace (safetensors pads with spaces).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipWhitespace()
        let value = try p.parseValue()
        p.skipWhitespace()
        guard p.i == bytes.count else { throw p.error("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func error(_ what: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: "\(what) at byte \(i) of the header")
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard peek == c else { throw error("expected \(what)") }
        i += 1
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let c = peek else { throw error("unexpected end") }
        switch c {
        case UInt8(ascii: "{"): return try parseContainer(isObject: true)
        case UInt8(ascii: "["): return try parseContainer(isObject: false)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character '\(UnicodeScalar(c))'")
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count,
              (0..<n).allSatisfy({ bytes[i + $0] == word.utf8Start[$0] }) else {
            throw error("invalid literal")
        }
        i += n
    }

    private mutating func parseContainer(isObject: Bool) throws(JSONSyntaxError) -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        defer { depth -= 1 }
        i += 1  // '{' or '['
        var members: [JSONMember] = []
        var elements: [JSONValue] = []
        let close = UInt8(ascii: isObject ? "}" : "]")
        skipWhitespace()
        if peek == close { i += 1; return isObject ? .object([]) : .array([]) }
        while true {
            skipWhitespace()
            if isObject {
                guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                members.append(JSONMember(key: key, value: try parseValue()))
            } else {
                elements.append(try parseValue())
            }
            skipWhitespace()
            if peek == close { i += 1; break }
            try expect(UInt8(ascii: ","), "',' or '\(UnicodeScalar(close))'")
        }
        return isObject ? .object(members) : .array(elements)
    }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = i
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while let c = p.peek, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { p.i += 1 }
            return p.i - s
        }
        if peek == UInt8(ascii: "-") { i += 1 }
        if peek == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw error("invalid number") }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        i += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let c = peek else { throw error("unterminated string") }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                // Raw bytes were copied as they are: validate them as UTF-8 once, here.
                guard let s = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw error("unterminated string") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw error("invalid escape '\\\(UnicodeScalar(e))'")
                }
            case 0..<0x20: throw error("unescaped control character in a string")
            default: utf8.append(c)
            }
        }
    }

    /// After `\u`: four hex digits, or a surrogate pair `\uD83D\uDE00`. Lone surrogates are
    /// not Unicode scalars and are rejected.
    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> String.UTF8View {
        var code = try parseHex4()
        if (0xD800..<0xDC00).contains(code) {
            guard peek == UInt8(ascii: "\\") else { throw error("lone surrogate in \\u escape") }
            i += 1
            guard peek == UInt8(ascii: "u") else { throw error("lone surrogate in \\u escape") }
            i += 1
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate in \\u escape") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("lone surrogate in \\u escape") }
        return String(Character(scalar)).utf8
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek, let d = hexDigit(c) else { throw error("invalid \\u escape") }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

/// `s` as a JSON string literal: quotes, backslashes and control characters escaped (the short
/// forms where JSON has them); everything else, non-ASCII included, written as UTF-8, as JSON
/// allows. Safetensors headers and `heed embed`'s JSON lines are written with it.
public func jsonStringLiteral(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case _ where u.value < 0x20:
            let hex = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
