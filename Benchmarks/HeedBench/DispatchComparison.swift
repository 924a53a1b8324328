import Foundation
import Heed

/// `--compare-baseline`: each attention, layer, training and embedding case gets a twin that
/// runs with Heed's dispatched kernels forced to baseline x86-64 (`CPUDispatch.withLevel`), in
/// the same group, so the two are interleaved round by round and see the same load. The table
/// gives baseline ÷ best per case: how much the dispatch is worth, and a regression at either
/// level shows as a ratio that moves.
enum DispatchComparison {
    static let group = "baseline"
    static let comparedGroups: Set<String> = ["attention", "layers", "quantized", "train", "embed"]

    static func withBaselineTwins(_ cases: [BenchCase]) -> [BenchCase] {
        cases.flatMap { c -> [BenchCase] in
            guard comparedGroups.contains(c.group), c.path != "naive" else { return [c] }
            let twin = BenchCase(group: group, name: "\(group)/\(c.name)", shape: c.shape, n: c.n, path: c.path,
                                 causal: c.causal, pass: c.pass, flops: c.flops, callsPerRun: c.callsPerRun,
                                 items: c.items) {
                let body = CPUDispatch.withLevel(.baseline) { c.setUp() }
                return { CPUDispatch.withLevel(.baseline) { body() } }
            }
            return [c, twin]
        }
    }

    static func table(_ s: Session) -> String {
        let twins = s.measured.filter { $0.bench.group == group }
        guard !twins.isEmpty else { return "" }
        var cells = [["case", "best ms", "baseline ms", "baseline ÷ best (time)"]]
        for t in twins {
            let name = String(t.bench.name.dropFirst(group.count + 1))
            guard let best = s.measured.first(where: { $0.bench.name == name }) else { continue }
            cells.append([name, TableReport.ms(best.median), TableReport.ms(t.median), String(format: "%.2f", t.median / best.median)])
        }
        return "\n== dispatch: the same cases with the kernels at baseline and at \(CPUDispatch.supportedLevel), interleaved (> 1: the dispatch helps)\n"
            + TableReport.format(cells, leftColumns: 1)
    }
}
