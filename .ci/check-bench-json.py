"""Checks a heed-bench --json file has what the README promises: a machine, an SGEMM peak, at
least one attention case, and every case with the same keys and consistent statistics.
Timings on a shared CI machine are noise, so no speed threshold is checked."""
import json
import sys

KEYS = {"name", "shape", "path", "causal", "pass", "median_s", "min_s", "max_s", "flops", "gflops",
        "percent_of_peak", "speedup_vs_naive", "peak_tensor_bytes", "peak_rss_bytes"}

d = json.load(open(sys.argv[1]))
assert d["sgemm_peak_gflops"] > 0, "no SGEMM peak"
assert d["machine"]["cpu"] and d["machine"]["openblas"], "no machine description"
assert any(c["group"] == "attention" for c in d["cases"]), "no attention case"
for c in d["cases"]:
    missing = KEYS - c.keys()
    assert not missing, f"{c.get('name')}: missing {sorted(missing)}"
    assert c["pass"] in ("fwd", "fwd+bwd"), f"{c['name']}: pass {c['pass']}"
    assert 0 < c["min_s"] <= c["median_s"] <= c["max_s"], f"{c['name']}: min/median/max out of order"
    assert c["runs"] >= 5, f"{c['name']}: {c['runs']} runs"
    assert c["peak_tensor_bytes"] >= 0, f"{c['name']}: negative tensor bytes"
print(f"ci: bench JSON ok: {len(d['cases'])} cases, SGEMM peak {d['sgemm_peak_gflops']:.0f} GFLOP/s")
