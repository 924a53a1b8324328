#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer (with LeakSanitizer) and under
# ThreadSanitizer: a debug build of the package and its tests per sanitizer, each in its own
# scratch folder so neither disturbs the normal .build/. Exits non-zero on any report or failed
# test, and prints one line per sanitizer: tests executed, failures, reports, seconds.
#
#   tools/sanitize.sh [address] [thread] [-- SWIFT-TEST-ARGS...]
#   tools/sanitize.sh                          both, the whole suite
#   tools/sanitize.sh thread -- --filter AttentionTests
#
# Folders (git-ignored): .build-asan/, .build-tsan/ (SwiftPM scratch paths);
# .build-asan/sanitize.log, .build-tsan/sanitize.log (the last run's whole output).
#
# What the runs change, and why:
#   HEED_CACHE_LIMIT_BYTES=0   Heed's buffer cache keeps freed tensor buffers for reuse, so a
#                              use after free would touch a live-looking block; off, every
#                              free reaches the sanitizer.
#   SWIFT_BACKTRACE=enable=no  the Swift runtime's backtracer would catch the sanitizer's own
#                              signals first; the sanitizer prints the stacks.
# Suppressions: tools/sanitizers/{lsan,tsan}.supp, each entry with its reason (a suppression
# without one is a finding, not a suppression).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi

kinds=()
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        address|thread) kinds+=("$1"); shift ;;
        --) shift; args=("$@"); break ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "sanitize.sh: '$1' is no sanitizer (address, thread; see --help)" >&2; exit 2 ;;
    esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)

export HEED_CACHE_LIMIT_BYTES=0 SWIFT_BACKTRACE=enable=no
# The tests that need all-MiniLM-L6-v2 find it through HEED_MINILM_DIR or models/.
[ -n "${HEED_MINILM_DIR:-}" ] || [ ! -d models/all-MiniLM-L6-v2 ] || export HEED_MINILM_DIR="$root/models/all-MiniLM-L6-v2"
supp="$root/tools/sanitizers"

summary=()
status=0
for kind in "${kinds[@]}"; do
    case "$kind" in
        address)
            scratch=.build-asan
            # halt_on_error is ASan's default; detect_leaks runs LeakSanitizer at exit.
            export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}"
            export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0}"
            pattern='ERROR: (Address|Leak)Sanitizer' ;;
        thread)
            scratch=.build-tsan
            # halt_on_error: the first race stops the run with a non-zero status, never scrolls by.
            export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp}"
            pattern='WARNING: ThreadSanitizer' ;;
    esac
    mkdir -p "$scratch"
    log="$scratch/sanitize.log"
    echo "sanitize.sh: swift test --sanitize=$kind --scratch-path $scratch ${args[*]:-}"
    start=$(date +%s)
    set +e
    swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" > "$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -40 "$log"
    else
        swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" ${args[@]+"${args[@]}"} 2>&1 | tee -a "$log"
        rc=${PIPESTATUS[0]}
    fi
    set -e
    seconds=$(( $(date +%s) - start ))
    reports=$(grep -cE "$pattern" "$log" || true)
    executed=$(grep -E 'Executed [0-9]+ tests?' "$log" | tail -1 | sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 tests, \2 failures/')
    line="sanitize.sh: $kind: ${executed:-no test summary}, $reports sanitizer reports, exit $rc, ${seconds} s"
    summary+=("$line")
    if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then status=1; fi
done
printf '%s\n' "${summary[@]}"
exit $status
