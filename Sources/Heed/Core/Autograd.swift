/// Define-by-run reverse-mode autograd.
///
/// Each differentiable op computes its result, then calls `recorded(name, inputs) { g in … }`
/// with the backward rule right beside the forward. The rule maps the gradient of the output to
/// one gradient per input (`nil` where an input needs none), already reduced to that input's
/// shape. Rules run under `noGrad`, so gradients are plain tensors. A rule returns fresh
/// tensors or views of `g`, never one of its inputs: a leaf may adopt the returned buffer.
///
/// Cycles are impossible by construction: `recorded` returns a *new* tensor object that owns the
/// node, so a rule may capture the raw result (for `exp`, `tanh`, softmax …) without the result
/// keeping itself alive.
final class GradNode {
    let name: String
    var inputs: [Tensor]
    var backward: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record graphs on this thread/task.
public enum GradMode {
    @TaskLocal static var enabled = true
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording any graph (inference, optimizer updates, backward rules).
@discardableResult
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$enabled.withValue(false, operation: body)
}

extension Tensor {
    /// Attaches a backward rule when recording is on and some input requires a gradient;
    /// otherwise returns `self` unchanged.
    func recorded(_ name: String, _ inputs: [Tensor],
                  _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.enabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        let out = Tensor(storage: storage, shape: shape, strides: strides, offset: offset,
                         requiresGrad: true)
        out.node = GradNode(name: name, inputs: inputs, backward: backward)
        return out
    }

    /// Marks this leaf as requiring gradients and returns it (`let w = Tensor.randn(…).requiringGrad()`).
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        check(isLeaf, "requiringGrad: only leaves can change requiresGrad")
        requiresGrad = flag
        return self
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// The name of the op that produced this tensor, or `nil` for a leaf.
    public var gradFunctionName: String? { node?.name }

    /// Back-propagates from this tensor. Without `gradient` the tensor must hold one element
    /// (a loss) and the seed is 1. Leaves that require gradients accumulate into `.grad`.
    /// The graph is freed afterwards unless `retainGraph` is set.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        check(requiresGrad, "backward: tensor of shape \(shape) does not require a gradient")
        let seed: Tensor
        if let gradient {
            check(gradient.shape == shape,
                  "backward: gradient of shape \(gradient.shape) for a tensor of shape \(shape)")
            seed = gradient.detach()
        } else {
            check(count == 1, "backward: a tensor of shape \(shape) needs an explicit gradient")
            seed = Tensor.full(1, shape: shape)
        }
        noGrad {
            let order = topologicalOrder()
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    t.grad = t.grad.map { $0 + g } ?? g.adoptedOrCopied()
                    continue
                }
                guard let rule = node.backward else {
                    checkFailure("backward: the graph through '\(node.name)' was already freed; pass retainGraph: true to the first backward()")
                }
                let inputGrads = rule(g)
                check(inputGrads.count == node.inputs.count,
                      "backward: '\(node.name)' returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    check(ig.shape == input.shape,
                          "backward: '\(node.name)' gave a gradient of shape \(ig.shape) for an input of shape \(input.shape)")
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { $0 + ig } ?? ig
                }
                if !retainGraph {
                    node.backward = nil
                    node.inputs = []
                }
            }
        }
    }

    /// Tensors reachable from `self` through recorded ops, inputs before users.
    /// Iterative DFS: graphs of thousands of ops must not overflow the stack.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.node?.inputs ?? [] where input.requiresGrad
                && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }

    /// The tensor to store in a leaf's `.grad`: dense, and sharing its buffer with nothing else,
    /// since optimizers and clipping update `.grad` in place. A freshly computed gradient that
    /// only this tensor references is adopted as it is (PyTorch "steals" it the same way);
    /// anything else — a view, a buffer handed to two inputs (`add` gives g to both; the second
    /// leaf then sees a shared buffer), the caller's seed — is copied.
    fileprivate func adoptedOrCopied() -> Tensor {
        if isContiguous && offset == 0 && storage.count == count && isKnownUniquelyReferenced(&storage) {
            return detach()
        }
        let out = Tensor(uninitializedShape: shape)
        copyStrided(from: self, to: out)
        return out
    }
}

/// Sums a broadcast gradient back to the shape of the operand it flows to.
func reduceGradient(_ g: Tensor, to shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let lead = g.rank - shape.count
    var axes: [Int] = Array(0..<lead)
    for (i, n) in shape.enumerated() where n == 1 && g.shape[lead + i] != 1 { axes.append(lead + i) }
    let summed = axes.isEmpty ? g : g.sum(axes: axes, keepDims: true)
    return summed.reshaped(shape)
}
