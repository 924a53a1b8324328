import XCTest
@testable import Heed
import HeedTestSupport

final class AutogradTests: XCTestCase {
    func testScalarChainRuleByHand() {
        // y = (x·w + b)², dy/dx = 2(xw+b)·w, dy/dw = 2(xw+b)·x, dy/db = 2(xw+b)
        let x = Tensor([3]).requiringGrad(), w = Tensor([-2]).requiringGrad(), b = Tensor([0.5]).requiringGrad()
        let y = ((x * w + b) * (x * w + b)).sum()
        y.backward()
        XCTAssertEqual(y.item, 30.25)
        XCTAssertEqual(x.grad!.item, 2 * -5.5 * -2)
        XCTAssertEqual(w.grad!.item, 2 * -5.5 * 3)
        XCTAssertEqual(b.grad!.item, 2 * -5.5)
    }

    func testGradientsAccumulateAcrossCallsAndZeroGradClears() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        assertClose(x.grad!, [5, 5, 5], "accumulated")
        x.zeroGrad()
        XCTAssertNil(x.grad)
        (x * x).sum().backward()
        assertClose(x.grad!, [2, 4, 6], "after zeroGrad")
    }

    func testTensorUsedTwiceInOneGraph() {
        let x = Tensor([1.5, -2]).requiringGrad()
        let y = x.exp() * x     // d/dx = eˣ(1 + x)
        y.sum().backward()
        assertClose(x.grad!, [Float(Foundation.exp(1.5) * 2.5), Float(Foundation.exp(-2.0) * -1)], rtol: 1e-6, "x·eˣ")
    }

    func testExplicitOutputGradient() {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2]).requiringGrad()
        let y = x * x
        y.backward(Tensor([1, 0, 0.5, 2], shape: [2, 2]))
        assertClose(x.grad!, [2, 0, 3, 16], "2x·g")
    }

    func testNoGradRecordsNothing() {
        let x = Tensor([1, 2]).requiringGrad()
        let y = noGrad { x * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.gradFunctionName)
        XCTAssertTrue(GradMode.isEnabled)
        XCTAssertEqual((x * 2).gradFunctionName, "mul")
    }

    func testDetachStopsGradientAndSharesStorage() {
        let x = Tensor([2, 3]).requiringGrad()
        let d = x.detach()
        XCTAssertTrue(d.storage === x.storage)
        XCTAssertFalse(d.requiresGrad)
        let y = (x * d).sum()   // d is a constant: dy/dx = d
        y.backward()
        assertClose(x.grad!, [2, 3], "through detach")
    }

    func testGraphIsFreedUnlessRetained() {
        let x = Tensor([1, 2]).requiringGrad()
        let y = (x * x).sum()
        y.backward(retainGraph: true)
        y.backward()           // second pass allowed because the graph was retained
        assertClose(x.grad!, [4, 8], "two passes")
        let node = y.node!
        XCTAssertNil(node.backward, "graph freed after the last backward")
        XCTAssertTrue(node.inputs.isEmpty)
    }

    func testGradientOfBroadcastOperandIsReducedToItsShape() {
        let a = Tensor.ones([2, 3]).requiringGrad()
        let bias = Tensor([1, 2, 3]).requiringGrad()
        let col = Tensor([1, 2], shape: [2, 1]).requiringGrad()
        ((a + bias) * col).sum().backward()
        XCTAssertEqual(bias.grad!.shape, [3])
        assertClose(bias.grad!, [3, 3, 3], "Σ over the broadcast rows")
        XCTAssertEqual(col.grad!.shape, [2, 1])
        assertClose(col.grad!, [9, 9], "Σ over the broadcast columns of (1+bias)")
    }

    func testLongChainDoesNotOverflowTheStack() {
        let x = Tensor([1]).requiringGrad()
        var y = x
        for _ in 0..<20_000 { y = y + 1 }
        y.sum().backward()
        XCTAssertEqual(x.grad!.item, 1)
        XCTAssertEqual(y.item, 20_001)
    }

    func testStoredGradIsDenseAndOwned() {
        // The gradient of a broadcast is a stride-0 view inside the engine; `.grad` must be dense
        // so optimizers can update it in place.
        let b = Tensor([1, 2]).requiringGrad()
        b.expanded([3, 2]).sum().backward()
        XCTAssertTrue(b.grad!.isContiguous)
        XCTAssertEqual(b.grad!.storage.count, 2)
        assertClose(b.grad!, [3, 3], "expand backward")
    }

    func testInPlaceStepOnLeaf() {
        let w = Tensor([1, 2]).requiringGrad()
        (w * w).sum().backward()
        noGrad { w -= 0.5 * w.grad! }
        assertClose(w, [0, 0], "w − ½·2w")
    }
}

extension AutogradTests {
    /// `add` passes one gradient tensor to both inputs; the stored grads must not share it.
    func testLeafGradientsDoNotShareStorage() {
        let a = Tensor([1, 2]).requiringGrad(), b = Tensor([3, 4]).requiringGrad()
        let seed = Tensor([1, 1])
        let y = a + b
        y.backward(seed)
        XCTAssertFalse(a.grad!.storage === b.grad!.storage)
        XCTAssertFalse(a.grad!.storage === seed.storage)
        a.grad!.scaleInPlace(0)
        assertClose(b.grad!, [1, 1], "b.grad untouched by an in-place update of a.grad")
        assertClose(seed, [1, 1], "the caller's seed untouched")
    }
}

extension AutogradTests {
    func testUnsafeBufferAccess() {
        let w = Tensor([1, 2, 3, 4], shape: [2, 2])
        w.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= 10 } }
        assertClose(w, [10, 20, 30, 40], "written in place")
        let sum = w.transposed().withUnsafeBufferPointer { $0.reduce(0, +) }   // copy of a view
        XCTAssertEqual(sum, 100)
        XCTAssertEqual(w.transposed().withUnsafeBufferPointer { Array($0) }, [10, 30, 20, 40])
    }
}
