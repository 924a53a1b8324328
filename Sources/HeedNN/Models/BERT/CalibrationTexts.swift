/// Texts for calibrating int8 smoothing when the user has none of their own: deterministic
/// sentences of everyday English of every length (3 to ~120 words), with capitals, numbers and
/// punctuation, so that each dense layer's input columns see their usual ranges. What matters
/// is the column maxima, which BERT's outlier channels dominate on any text.
public enum CalibrationTexts {
    static let words = """
    the of and to in is was for on that with as by at from it his an were are which this be \
    has had one their new first after who they have two her its been more year when time would \
    people city world school water music game history family government work market team \
    company research system report data model language river mountain morning evening weather \
    small large quick slow bright dark happy strong simple important different public local \
    said made found used took began went came became wrote built played moved opened called \
    because although while during before between under over through without against around
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// `count` texts from a fixed generator (the same texts on every machine).
    public static func sentences(count: Int = 64, seed: UInt64 = 0x5EED) -> [String] {
        var state = seed
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let lengths = [3, 5, 8, 12, 16, 24, 40, 64, 120]
        return (0..<count).map { i in
            var out: [String] = []
            for w in 0..<lengths[i % lengths.count] {
                var word = words[next() % words.count]
                if w == 0 { word = word.prefix(1).uppercased() + word.dropFirst() }
                if next() % 17 == 0 { word = String(next() % 2050) }
                out.append(word + (next() % 11 == 0 ? "," : ""))
            }
            return out.joined(separator: " ") + [".", "?", "!", "."][i % 4]
        }
    }
}
