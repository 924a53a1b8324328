import FuzzSupport
import HeedNN

// IDXArray(bytes:file:) on arbitrary bytes (plain, or gzip when they start 1f 8b), then
// floats(); and the same bytes gzipped, which must read the same: the gzip path is then fed
// valid streams of fuzzed IDX files, not only corrupt ones.
@_cdecl("FuzzIDX_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzInput(data, size)
        let plain = try? IDXArray(bytes: bytes, file: "fuzz")
        if let plain { precondition(plain.floats().count == plain.count) }
        guard bytes.count < 2 || bytes[0] != 0x1F || bytes[1] != 0x8B else { return 0 }  // already gzip
        let zipped = try? IDXArray(bytes: gzip(bytes), file: "fuzz.gz")
        precondition((plain == nil) == (zipped == nil), "plain \(plain == nil ? "refused" : "read"), gzipped not")
        if let plain, let zipped {
            precondition(plain.shape == zipped.shape && plain.elementType == zipped.elementType
                         && plain.payload.elementsEqual(zipped.payload), "gzipped bytes read differently")
        }
        return 0
    }
}
