#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (a separate package: the root package's build and tests
# never see them), makes their seed corpora from real files, and runs each target, or the ones
# named, for a number of executions or seconds. Exits non-zero on any finding (crash, failed
# check, ASan report, leak, hang past --timeout, memory past --rss) and prints one line per
# target: executions, executions per second, result.
#
#   tools/fuzz.sh [--time S | --runs N] [--timeout S] [--rss MB] [TARGET...]
#   tools/fuzz.sh --ci              every target for 30 s (what .ci/run calls)
#   tools/fuzz.sh --build-only      build, make the seeds, run nothing
#   tools/fuzz.sh --reproduce TARGET FILE...   run a target once on saved inputs
#
# TARGET: FuzzSafetensors FuzzIDX FuzzTokenizer FuzzModelConfig FuzzCheckpoint (default: all).
# Extra libFuzzer flags after `--`, e.g. `tools/fuzz.sh FuzzIDX -- -max_len=65536`.
#
# Folders (all git-ignored):
#   .build-fuzz/                 SwiftPM's scratch path for Fuzz/ (release, -sanitize=fuzzer,address)
#   .build-fuzz/seeds/TARGET     seed corpora, remade on every run (small; from real files)
#   .build-fuzz/corpus/TARGET    inputs libFuzzer found worth keeping, kept between runs
#   .build-fuzz/logs/TARGET.log  the last run's libFuzzer output
#   fuzz-findings/TARGET/        crash-*, leak-*, timeout-*, oom-* inputs (libFuzzer's artifacts)
# A finding's input belongs, once understood, in Tests/Fixtures/fuzz/TARGET/ with a regression
# test, before its fix.
#
# FuzzTokenizer and the model-folder seeds need all-MiniLM-L6-v2: $HEED_MINILM_DIR, else
# models/all-MiniLM-L6-v2 (`./heed.sh model`); without it FuzzTokenizer is skipped (reported).
# The IDX seeds come from /usr/share/datasets/fashion-mnist (`./heed.sh deps`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi

all_targets=(FuzzSafetensors FuzzIDX FuzzTokenizer FuzzModelConfig FuzzCheckpoint)
limit=(-max_total_time=60)
timeout=10
rss=2048
build_only=0
reproduce=0
targets=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        --ci) limit=(-max_total_time=30); shift ;;
        --timeout) timeout="$2"; shift 2 ;;
        --rss) rss="$2"; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --reproduce) reproduce=1; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) if [[ " ${all_targets[*]} " == *" $1 "* ]]; then targets+=("$1"); shift
           elif [ "$reproduce" = 1 ] && [ -e "$1" ]; then extra+=("$(realpath "$1")"); shift
           else echo "fuzz.sh: '$1' is no option nor target (${all_targets[*]}; see --help)" >&2; exit 2; fi ;;
    esac
done
if [ "$reproduce" = 1 ] && { [ ${#targets[@]} -ne 1 ] || [ ${#extra[@]} -eq 0 ]; }; then
    echo "fuzz.sh: --reproduce takes one target and the input files" >&2; exit 2
fi
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

scratch=.build-fuzz
# Every Swift module of the build, Heed and HeedNN included, gets libFuzzer's coverage
# instrumentation and ASan (they are what is fuzzed). Release for speed, -g for stack traces.
# lld: gold fails to link these (an internal error in its DWARF reader).
build_flags=(--package-path Fuzz --scratch-path "$scratch" -c release
             -Xswiftc -sanitize=fuzzer,address -Xswiftc -g -Xswiftc -use-ld=lld)
echo "fuzz.sh: building Fuzz/ (swift build ${build_flags[*]})"
swift build "${build_flags[@]}"
bin="$(swift build "${build_flags[@]}" --show-bin-path)"

# The Swift runtime's backtracer would catch a trap before libFuzzer does (no artifact saved);
# the model folder's own loader threads are not what is measured: one BLAS thread.
export SWIFT_BACKTRACE=enable=no OPENBLAS_NUM_THREADS=1
# ASan's defaults; leak suppressions for known findings in Fuzz/lsan.supp (none today).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:handle_abort=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}"
# The targets write their inputs to files under TMPDIR (the model folder's and the checkpoint's
# readers take paths): a tmpfs when there is one (on disk, the rewrites cost a block-device
# flush each), removed at exit with whatever a crash left.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp_parent=/dev/shm; else tmp_parent="$root/$scratch"; fi
TMPDIR="$(mktemp -d "$tmp_parent/heed-fuzz.XXXXXX")"; export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

minilm="${HEED_MINILM_DIR:-models/all-MiniLM-L6-v2}"
have_minilm=0
if [ -f "$minilm/vocab.txt" ] && [ -f "$minilm/tokenizer_config.json" ]; then
    have_minilm=1
    HEED_MINILM_DIR="$(realpath "$minilm")"; export HEED_MINILM_DIR
fi

if [ "$reproduce" = 1 ]; then
    "$bin/${targets[0]}" -timeout="$timeout" -rss_limit_mb="$rss" "${extra[@]}"
    exit $?
fi

# --- Seed corpora ------------------------------------------------------------------------
seeds="$scratch/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{FuzzSafetensors,FuzzIDX,FuzzTokenizer,FuzzModelConfig,FuzzCheckpoint}
# Hand-made seeds committed beside the targets (tiny), and saved findings: every one is rerun.
for t in "${all_targets[@]}"; do
    for d in "Fuzz/seeds/$t" "Tests/Fixtures/fuzz/$t"; do
        [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '*.md' -exec cp {} "$seeds/$t/" \;
    done
done
# Checkpoints of FuzzCheckpoint's own small trainer (after 1 and 2 epochs), written by Heed;
# the first is also copied into FuzzSafetensors' seeds. The model folder's
# tiny stand-in files (with their selector byte) from FuzzModelConfig.
HEED_FUZZ_SEEDS="$seeds/FuzzCheckpoint" "$bin/FuzzCheckpoint"
mv "$seeds/FuzzCheckpoint/safetensors/"* "$seeds/FuzzSafetensors/"
rmdir "$seeds/FuzzCheckpoint/safetensors"
HEED_FUZZ_SEEDS="$seeds/FuzzModelConfig" "$bin/FuzzModelConfig"
python3 - "$seeds" "$minilm" "$have_minilm" <<'PY'
import glob, gzip, json, os, struct, sys
seeds, minilm, have_minilm = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def put(target, name, data):
    with open(os.path.join(seeds, target, name), "wb") as f:
        f.write(data)

# safetensors: the Python-written fixture, and two small tensors cut from the real model's file
# (its header read, the tensors' bytes copied into a new file with a header of their own).
put("FuzzSafetensors", "python_fixture.safetensors", open("Tests/Fixtures/python_fixture.safetensors", "rb").read())
model = os.path.join(minilm, "model.safetensors")
if have_minilm and os.path.exists(model):
    with open(model, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        picked, blob, offset = {}, b"", 0
        for name in ("embeddings.LayerNorm.weight", "encoder.layer.0.attention.output.LayerNorm.bias"):
            info = header[name]
            b, e = info["data_offsets"]
            f.seek(base + b)
            data = f.read(min(e - b, 64))  # a 16-element prefix keeps the seed small
            count = len(data) // 4
            picked[name] = {"dtype": info["dtype"], "shape": [count], "data_offsets": [offset, offset + len(data)]}
            blob += data
            offset += len(data)
        picked["__metadata__"] = header.get("__metadata__", {"format": "pt"})
        h = json.dumps(picked, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        put("FuzzSafetensors", "minilm-cut.safetensors", struct.pack("<Q", len(h)) + h + blob)

# IDX: a few Fashion-MNIST images with the header's count rewritten, plain and gzipped, the
# first labels the same way, and the real test-labels file as shipped (gzip, 5 kB).
fm = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(fm):
    with gzip.open(os.path.join(fm, "t10k-images-idx3-ubyte.gz")) as f:
        head = f.read(16)
        images = f.read(3 * 28 * 28)
    magic, _, rows, cols = struct.unpack(">IIII", head)
    for k in (1, 3):
        idx = struct.pack(">IIII", magic, k, rows, cols) + images[:k * rows * cols]
        put("FuzzIDX", f"images-{k}.idx", idx)
        put("FuzzIDX", f"images-{k}.idx.gz", gzip.compress(idx, mtime=0))
    labels_gz = open(os.path.join(fm, "t10k-labels-idx1-ubyte.gz"), "rb").read()
    labels = gzip.decompress(labels_gz)
    put("FuzzIDX", "t10k-labels-idx1-ubyte.gz", labels_gz)
    small = struct.pack(">II", 0x801, 10) + labels[8:18]
    put("FuzzIDX", "labels-10.idx", small)
    put("FuzzIDX", "labels-10.idx.gz", gzip.compress(small, mtime=0))
else:
    print(f"fuzz.sh: {fm} missing: FuzzIDX starts from its committed seeds only", file=sys.stderr)

# Tokenizer: every text of the committed tokenizer fixtures (what sentence-transformers saw).
texts = set()
def walk(o, key=None):
    if isinstance(o, dict):
        for k, v in o.items(): walk(v, k)
    elif isinstance(o, list):
        for v in o: walk(v, key)
    elif isinstance(o, str) and key in ("text", "context"):
        texts.add(o)
for path in glob.glob("Tests/Fixtures/minilm/*.json"):
    walk(json.load(open(path, encoding="utf-8")))
for i, t in enumerate(sorted(texts)):
    put("FuzzTokenizer", f"text-{i:04d}", t.encode("utf-8"))

# Model folder: the real JSON files, each behind the selector byte FuzzModelConfig reads
# (its `files` order).
if have_minilm:
    for i, name in enumerate(["config.json", "tokenizer_config.json", "sentence_bert_config.json",
                              "1_Pooling/config.json", "modules.json"]):
        path = os.path.join(minilm, name)
        if os.path.exists(path):
            put("FuzzModelConfig", f"minilm-{i}-{name.replace('/', '-')}", bytes([i]) + open(path, "rb").read())
PY
for t in "${all_targets[@]}"; do
    echo "fuzz.sh: seeds for $t: $(find "$seeds/$t" -type f | wc -l) files, $(du -sk "$seeds/$t" | cut -f1) kB"
done
[ "$build_only" = 1 ] && exit 0

# --- Runs ----------------------------------------------------------------------------------
mkdir -p "$scratch/logs"
summary=()
failed=0
for t in "${targets[@]}"; do
    if [ "$t" = FuzzTokenizer ] && [ "$have_minilm" = 0 ]; then
        summary+=("$(printf '%-16s skipped: no all-MiniLM-L6-v2 at %s (./heed.sh model, or set HEED_MINILM_DIR)' "$t" "$minilm")")
        continue
    fi
    corpus="$scratch/corpus/$t"
    findings="fuzz-findings/$t"
    mkdir -p "$corpus" "$findings"
    dict=()
    [ -f "Fuzz/dicts/$t.dict" ] && dict=(-dict="Fuzz/dicts/$t.dict")
    log="$scratch/logs/$t.log"
    before="$(ls "$findings")"
    echo "fuzz.sh: $t ${limit[*]} -timeout=$timeout -rss_limit_mb=$rss (log: $log)"
    set +e
    "$bin/$t" "${limit[@]}" -timeout="$timeout" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" \
        -artifact_prefix="$findings/" -print_final_stats=1 "${dict[@]}" "${extra[@]}" \
        "$corpus" "$seeds/$t" > "$log" 2>&1
    status=$?
    set -e
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    peak="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
    new="$(comm -13 <(printf '%s\n' "$before" | sort) <(ls "$findings" | sort) | sed "s|^|$findings/|" | tr '\n' ' ')"
    if [ "$status" -eq 0 ] && [ -z "$new" ]; then
        result="ok"
    else
        failed=1
        what="$(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|Precondition failed|ALARM: working on the last Unit|out-of-memory|deadly signal' "$log" || true)"
        result="FINDING (exit $status): ${what:-see the log} ${new:+-> $new}"
        # The stack, so that CI's log shows it.
        echo "---- $t: last lines of $log"; tail -n 60 "$log"; echo "----"
    fi
    summary+=("$(printf '%-16s %10s execs %8s/s  peak %5s MB  corpus %5s  %s' \
        "$t" "${execs:-?}" "${rate:-?}" "${peak:-?}" "$(find "$corpus" -type f | wc -l)" "$result")")
done
echo "fuzz.sh: results (${limit[*]})"
printf '  %s\n' "${summary[@]}"
exit "$failed"
