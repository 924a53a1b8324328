import Foundation
import Heed

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28×28 grey images of clothing in 10 classes,
/// 60,000 for training and 10,000 for testing, stored as IDX files, usually gzipped.
extension Dataset {
    public enum Split: Sendable { case train, test }

    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Loads one split: images [n, 28, 28] scaled to [0, 1] (pixel / 255), labels in 0..<10.
    ///
    /// Reads `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (`t10k-…` for the test
    /// split) from `directory` (default `fashionMNISTDirectory`), each either gzipped (`.gz`)
    /// or plain.
    public static func fashionMNIST(directory: URL? = nil, split: Split) throws(DataError) -> Dataset {
        let dir = directory ?? fashionMNISTDirectory
        let prefix = split == .train ? "train" : "t10k"
        let imagesURL = try locate("\(prefix)-images-idx3-ubyte", in: dir)
        let labelsURL = try locate("\(prefix)-labels-idx1-ubyte", in: dir)
        let imagesFile = imagesURL.path, labelsFile = labelsURL.path

        // Kind and shape are checked on each header, before its data is read.
        let images = try IDXArray(contentsOf: imagesURL) { (type, shape) throws(DataError) in
            guard type == .uint8 && shape.count == 3 else {
                throw .badMagic(file: imagesFile, found: UInt32(type.rawValue) << 8 | UInt32(shape.count),
                                expected: "0x00000803 (u8 images [n, rows, cols])")
            }
            guard shape[1] == 28 && shape[2] == 28 else {
                throw .unexpectedShape(file: imagesFile, found: shape, expected: "[n, 28, 28]")
            }
            guard shape[0] > 0 else { throw .emptySplit(file: imagesFile) }
        }
        let labels = try IDXArray(contentsOf: labelsURL) { (type, shape) throws(DataError) in
            guard type == .uint8 && shape.count == 1 else {
                throw .badMagic(file: labelsFile, found: UInt32(type.rawValue) << 8 | UInt32(shape.count),
                                expected: "0x00000801 (u8 labels [n])")
            }
            guard shape[0] == images.shape[0] else {
                throw .countMismatch(imagesFile: imagesFile, images: images.shape[0], labelsFile: labelsFile, labels: shape[0])
            }
        }
        let classNames = fashionMNISTClassNames
        let labelValues = labels.ints()
        if let bad = labelValues.firstIndex(where: { $0 >= classNames.count }) {
            throw .labelOutOfRange(file: labelsFile, index: bad, value: labelValues[bad], classCount: classNames.count)
        }
        return Dataset(images: scaledPixels(images), labels: labelValues, classNames: classNames)
    }

    /// `directory/name`, or `directory/name.gz` when only that exists.
    private static func locate(_ name: String, in directory: URL) throws(DataError) -> URL {
        let plain = directory.appendingPathComponent(name)
        let gzipped = directory.appendingPathComponent(name + ".gz")
        for url in [plain, gzipped] where FileManager.default.fileExists(atPath: url.path) { return url }
        throw .fileNotFound(
            path: gzipped.path,
            hint: "Neither \(name).gz nor \(name) is in \(directory.path). Install the Debian package "
                + "dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass --data DIR "
                + "with a directory holding the Fashion-MNIST files.")
    }

    /// u8 pixels → Float in [0, 1] through a 256-entry table (exactly p / 255, correctly rounded).
    private static func scaledPixels(_ idx: IDXArray) -> Tensor {
        let table = (0..<256).map { Float($0) / 255 }
        let out = Tensor.zeros(idx.shape)
        out.withUnsafeMutableBufferPointer { dst in
            idx.payload.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    for i in 0..<src.count { dst[i] = t[Int(src[i])] }
                }
            }
        }
        return out
    }
}
