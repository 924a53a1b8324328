#if canImport(Glibc)
import Glibc
#endif

/// xoshiro256** seeded through SplitMix64: fast, 256-bit state, and defined by integer arithmetic
/// only, so one seed gives the same stream on every machine (unlike the system generator).
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every Float32 step on that grid is reachable).
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal sample pair by Box–Muller (computed in Double, rounded once).
    public mutating func nextNormalPair() -> (Float, Float) {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]: log never sees 0
        let u2 = Double(next() >> 11) * 0x1p-53
        let r = (-2 * log(u1)).squareRoot()
        return (Float(r * cos(2 * .pi * u2)), Float(r * sin(2 * .pi * u2)))
    }
}

/// The process-wide generator used when no generator or seed is passed (like `torch.manual_seed`).
public enum HeedRandom {
    private static let global = Locked(Xoshiro256(seed: 0x4865_6564))

    /// Reseeds the global generator: subsequent random tensors repeat exactly.
    public static func manualSeed(_ seed: UInt64) { global.withLock { $0 = Xoshiro256(seed: seed) } }

    /// Runs `body` with exclusive use of the global generator.
    public static func withGlobal<T>(_ body: (inout Xoshiro256) -> T) -> T {
        global.withLock { body(&$0) }
    }
}
