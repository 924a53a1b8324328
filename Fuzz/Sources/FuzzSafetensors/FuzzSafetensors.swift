import FuzzSupport
import Heed
import HeedNN

// SafetensorsFile(bytes:label:) on arbitrary bytes, then every tensor decoded. Opening
// validates the whole header, so no decode may trap or read outside the buffer; a tensor that
// decodes must have the shape the header gave it.
@_cdecl("FuzzSafetensors_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let file = try? SafetensorsFile(bytes: fuzzInput(data, size), label: "fuzz") else { return 0 }
        for info in file.tensors {
            if let t = try? file.tensor(info.name) { precondition(t.shape == info.shape, "\(info.name): \(t.shape)") }
        }
        return 0
    }
}
