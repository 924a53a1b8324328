// What the fuzz targets need from C: libFuzzer's driver (linked by -sanitize=fuzzer) and zlib.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

// libFuzzer's entry for programs that have their own main (FuzzerInterface.h). SwiftPM links an
// executable with main aliased to `<Target>_main`, so libFuzzer's own main is never used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

// `n` bytes gzip-compressed (one member) into `out` (room for `*outLength` bytes); returns
// zlib's status, Z_OK when all fit. deflateInit2 is a macro, which Swift cannot call.
static inline int fuzz_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t *outLength) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return Z_STREAM_ERROR;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)*outLength;
    int rc = deflate(&s, Z_FINISH);
    *outLength = s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? Z_OK : Z_BUF_ERROR;
}

// An upper bound of fuzz_gzip's output for `n` input bytes (deflateBound plus gzip's wrapper).
static inline size_t fuzz_gzip_bound(size_t n) { return compressBound((uLong)n) + 32; }
