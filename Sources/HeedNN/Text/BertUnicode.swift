/// The character classes of the reference BERT tokenizer (Hugging Face `tokenizers`, the Rust
/// one sentence-transformers uses), reproduced scalar for scalar.
///
/// The reference takes control, nonspacing-mark and punctuation classes from the
/// `unicode_categories` crate, whose tables are Unicode 8.0: a scalar assigned later is
/// "unassigned" there, so it is neither dropped, stripped nor split, whatever Swift's newer
/// tables say. Whitespace and lowercasing come from Rust's std (current Unicode, like Swift's).
/// `TokenizerTests.testUnicodeSweepMatchesReference` checks every code point against the reference.
enum BertUnicode {
    /// Assigned by Unicode 8.0, the version of the reference's category tables.
    @inline(__always)
    static func isInUnicode8(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Known to the reference's NFD (the `unicode-normalization-alignments` crate, Unicode
    /// 12.1 tables): it does not decompose U+11938 (13.0), which Swift does.
    @inline(__always)
    static func isInNormalizationTables(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < 12 || (age.major == 12 && age.minor <= 1)
    }

    /// The canonical combining class the reference's NFD sees: 0 (a starter) for a scalar its
    /// tables do not know, whatever class Swift's newer tables give it.
    @inline(__always)
    static func combiningClass(_ s: Unicode.Scalar) -> UInt8 {
        if s.value < 0x300 { return 0 }
        return isInNormalizationTables(s) ? s.properties.canonicalCombiningClass.rawValue : 0
    }

    /// Removed by clean_text: NUL, U+FFFD, and Cc/Cf/Co/Cs as of Unicode 8.0 except \t \n \r.
    /// (The reference does not drop unassigned scalars, Cn, despite its comment.)
    static func isDropped(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        if v == 0 || v == 0xFFFD { return true }
        if v < 0x80 { return v < 0x20 || v == 0x7F }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return isInUnicode8(s)
        default: return false
        }
    }

    /// Rust's `char::is_whitespace` (the White_Space property, as Swift's `isWhitespace`).
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return s.properties.isWhitespace
    }

    /// The CJK ideograph blocks the reference surrounds with spaces (Hiragana, Katakana and
    /// Hangul are not among them: those scripts separate words with spaces).
    @inline(__always)
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Removed after NFD when accents are stripped: Mn as of Unicode 8.0.
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        // Scalars whose category changed after 8.0 (found by the Unicode sweep test).
        switch s.value {
        case 0x1734,                  // HANUNOO SIGN PAMUDPOD: Mc since 14.0
             0x1171E:                 // AHOM CONSONANT SIGN MEDIAL RA: Mc since 14.0
            return true
        case 0x1885, 0x1886,          // MONGOLIAN LETTER ALI GALI BALUDA, …THREE BALUDA: Lo in 8.0
             0xA9BD,                  // JAVANESE CONSONANT SIGN KERET: Mc in 8.0
             0x111C9:                 // SHARADA SANDHI MARK: Po in 8.0
            return false
        default:
            break
        }
        return s.properties.generalCategory == .nonspacingMark && isInUnicode8(s)
    }

    /// Isolated by the pre-tokenizer: ASCII punctuation (which includes symbols like $ + < =)
    /// or P* as of Unicode 8.0.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x21 && v <= 0x2F) || (v >= 0x3A && v <= 0x40)
                || (v >= 0x5B && v <= 0x60) || (v >= 0x7B && v <= 0x7E)
        }
        switch v {
        case 0x166D, 0x111C9: return true  // Po in 8.0; So and Mn in later versions
        default: break
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return isInUnicode8(s)
        default:
            return false
        }
    }
}

extension BertUnicode {
    /// Every class above of one scalar, packed: the flags in the low byte, the combining class
    /// the reference sees in the high byte. Looked up once per scalar, from a table for the
    /// Basic Multilingual Plane: the standard library's property lookups (age, general category,
    /// binary properties) took two thirds of the tokenizer's time on non-ASCII text.
    struct Class {
        let raw: UInt16

        static let dropped: UInt16 = 1 << 0, whitespace: UInt16 = 1 << 1, chinese: UInt16 = 1 << 2
        static let inNormalizationTables: UInt16 = 1 << 3, nonspacingMark: UInt16 = 1 << 4
        static let punctuation: UInt16 = 1 << 5, changesWhenLowercased: UInt16 = 1 << 6

        init(raw: UInt16) { self.raw = raw }

        init(_ s: Unicode.Scalar) {
            var r: UInt16 = 0
            if BertUnicode.isDropped(s) { r |= Class.dropped }
            if BertUnicode.isWhitespace(s) { r |= Class.whitespace }
            if BertUnicode.isChinese(s) { r |= Class.chinese }
            if BertUnicode.isInNormalizationTables(s) { r |= Class.inNormalizationTables }
            if BertUnicode.isNonspacingMark(s) { r |= Class.nonspacingMark }
            if BertUnicode.isPunctuation(s) { r |= Class.punctuation }
            if s.properties.changesWhenLowercased { r |= Class.changesWhenLowercased }
            raw = r | UInt16(BertUnicode.combiningClass(s)) << 8
        }

        @inline(__always) var isDropped: Bool { raw & Class.dropped != 0 }
        @inline(__always) var isWhitespace: Bool { raw & Class.whitespace != 0 }
        @inline(__always) var isChinese: Bool { raw & Class.chinese != 0 }
        @inline(__always) var isInNormalizationTables: Bool { raw & Class.inNormalizationTables != 0 }
        @inline(__always) var isNonspacingMark: Bool { raw & Class.nonspacingMark != 0 }
        @inline(__always) var isPunctuation: Bool { raw & Class.punctuation != 0 }
        @inline(__always) var changesWhenLowercased: Bool { raw & Class.changesWhenLowercased != 0 }
        @inline(__always) var combiningClass: UInt8 { UInt8(truncatingIfNeeded: raw >> 8) }
    }

    /// The classes of U+0000–U+FFFF (surrogates: 0), built on first use (~10 ms, 128 KB).
    private static let planeZero: [UInt16] = (0..<0x10000).map { v in
        Unicode.Scalar(UInt32(v)).map { Class($0).raw } ?? 0
    }

    @inline(__always)
    static func classOf(_ s: Unicode.Scalar) -> Class {
        s.value < 0x10000 ? Class(raw: planeZero[Int(s.value)]) : Class(s)
    }
}
