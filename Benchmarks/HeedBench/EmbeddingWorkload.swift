/// The texts the embedding cases run, made deterministically so Heed and sentence-transformers
/// (the `--peers` script receives the same strings) embed exactly the same input.
///
/// Short sentences are STS-like captions ("The old man is reading a newspaper in the park."),
/// 10–15 tokens with [CLS] and [SEP]. Passages are ~300 words of such sentences, so each is
/// cut to the model's 256 tokens.
enum EmbeddingWorkload {
    static let subjects = ["the old man", "a young woman", "the child", "a dog", "two cats", "the teacher", "a musician",
                           "the farmer", "my neighbour", "a group of students", "the pilot", "an artist", "the doctor",
                           "a small boy", "the chef", "three friends"]
    static let verbs = ["is reading", "is eating", "is playing", "is painting", "is carrying", "is watching",
                        "is cleaning", "is buying", "is looking at", "is holding", "is repairing", "is writing"]
    static let objects = ["a newspaper", "an apple", "the guitar", "a red bicycle", "some fresh bread", "the old car",
                          "a long letter", "the blue door", "a wooden chair", "the evening news", "a map of the city",
                          "a cup of coffee"]
    static let places = ["in the park", "on the street", "at home", "near the river", "in the kitchen", "at the station",
                         "under a tree", "by the window", "in the garden", "at the market", "on the beach", "in the office"]

    /// A small linear congruential generator: the same texts on every machine and run.
    struct LCG {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func sentence(_ g: inout LCG) -> String {
        let s = subjects[g.next(subjects.count)]
        return s.prefix(1).uppercased() + s.dropFirst() + " " + verbs[g.next(verbs.count)] + " "
            + objects[g.next(objects.count)] + " " + places[g.next(places.count)] + "."
    }

    static func shortSentences(_ count: Int, seed: UInt64 = 1) -> [String] {
        var g = LCG(state: seed)
        return (0..<count).map { _ in sentence(&g) }
    }

    static func passages(_ count: Int, seed: UInt64 = 2) -> [String] {
        var g = LCG(state: seed)
        return (0..<count).map { _ in (0..<32).map { _ in sentence(&g) }.joined(separator: " ") }
    }
}
