import CBLAS
import CHeedKernels

/// What Heed does to OpenBLAS once, before its first BLAS or LAPACK call:
///
/// 1. Corrects a fallback core. OpenBLAS 0.3.21's DYNAMIC_ARCH does not know CPUs newer than it
///    and then runs its SSE3 "Prescott" kernels: 36 GFLOP/s on 2048³ on an AVX-512 Xeon (family 6,
///    model 207) where its SkylakeX kernels reach 230. When OpenBLAS chose a core without AVX2
///    kernels on a CPU that has AVX2+FMA, and `OPENBLAS_CORETYPE` is not set, Heed switches it
///    to Haswell or SkylakeX (`heed_openblas_correct_core`). A set `OPENBLAS_CORETYPE` wins.
/// 2. Makes OpenBLAS single-threaded, always: Heed splits the work itself (`batchedGemm`), so
///    each core runs one `cblas_sgemm` and nothing oversubscribes when kernels call BLAS from
///    both workers. Measured (PERF-NOTES): two single-threaded GEMMs on disjoint panels reach
///    the same 206–217 GFLOP/s as OpenBLAS's own two threads on 2048³, and far more on
///    attention's many small per-head products, where OpenBLAS-threaded calls reached 32–107.
public enum BLASSetup {
    /// OpenBLAS's core before and after Heed's correction, or nil when none was needed.
    public static var coreCorrection: (from: String, to: String)? { prepared }

    /// Runs the set-up (once; every BLAS-calling path touches this first).
    public static func prepare() { _ = prepared }

    static let prepared: (from: String, to: String)? = {
        var before = [CChar](repeating: 0, count: 64), after = [CChar](repeating: 0, count: 64)
        let changed = heed_openblas_correct_core(&before, &after, 64) != 0
        openblas_set_num_threads(1)
        return changed ? (text(before), text(after)) : nil
    }()

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
