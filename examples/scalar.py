"""micrograd-style: a neural net built from 0-d tensors (one scalar per weight) learns the two moons.

Every weight is its own 0-d ``refgrad`` tensor and every neuron sums scalar products, like Karpathy's micrograd
but on refgrad's engine. The script also prints the autograd graph of a small expression as graphviz DOT text
(rendered to a file with the ``graphviz`` package only when it is installed, via ``--dot PATH``).

Run: ``python examples/scalar.py [--quick] [--device cpu] [--dot graph.dot]``. The last line is
``accuracy=<float>``.
"""
from __future__ import annotations

import argparse
import random

import numpy as np

import refgrad as torch


def make_moons(n: int, noise: float, rng: np.random.Generator):
    """sklearn-style make_moons: two interleaved half circles, labels -1/+1 (for the hinge loss)."""
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    x = x + noise * rng.standard_normal(x.shape)
    return x.astype(np.float32), np.where(upper, -1.0, 1.0).astype(np.float32)


class Neuron:
    def __init__(self, n_in: int, nonlin: bool, device):
        self.w = [torch.tensor(random.uniform(-1, 1), requires_grad=True, device=device) for _ in range(n_in)]
        self.b = torch.tensor(0.0, requires_grad=True, device=device)
        self.nonlin = nonlin

    def __call__(self, xs):
        act = self.b
        for wi, xi in zip(self.w, xs):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def parameters(self):
        return [*self.w, self.b]


class MLP:
    """Layers of scalar neurons; the last layer is linear."""

    def __init__(self, sizes: list[int], device):
        self.layers = [[Neuron(n_in, i < len(sizes) - 2, device) for _ in range(n_out)]
                       for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))]

    def __call__(self, xs):
        for layer in self.layers:
            xs = [neuron(xs) for neuron in layer]
        return xs[0]

    def parameters(self):
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]


def to_dot(root) -> str:
    """graphviz DOT text of the autograd graph behind ``root``, walking ``grad_fn.next_functions``."""
    lines = ["digraph autograd {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    seen = {}

    def node_id(fn):
        if id(fn) not in seen:
            seen[id(fn)] = f"n{len(seen)}"
            var = getattr(fn, "variable", None)  # AccumulateGrad nodes point at their leaf
            label = fn.name() if var is None else f"leaf {tuple(var.shape)} = {var.item():.4g}"
            lines.append(f'  {seen[id(fn)]} [label="{label}"];')
            stack.append(fn)
        return seen[id(fn)]

    stack = []
    lines.append(f'  out [label="output = {root.item():.4g}", shape=ellipse];')
    lines.append(f"  {node_id(root.grad_fn)} -> out;")
    while stack:
        fn = stack.pop()
        for child, _ in fn.next_functions:
            if child is not None:
                lines.append(f"  {node_id(child)} -> {seen[id(fn)]};")
    lines.append("}")
    return "\n".join(lines)


def draw_example(path, device):
    """Build a small expression, backprop it, and emit its graph as DOT (to ``path`` and graphviz if given)."""
    a = torch.tensor(2.0, requires_grad=True, device=device)
    b = torch.tensor(-3.0, requires_grad=True, device=device)
    c = torch.tensor(10.0, requires_grad=True, device=device)
    d = (a * b + c).tanh() * a
    d.backward()
    print(f"d = tanh(a*b + c) * a = {d.item():.4f}; grads a={a.grad.item():.4f} b={b.grad.item():.4f} "
          f"c={c.grad.item():.4f}")
    dot = to_dot(d)
    if path is None:
        print(dot)
        return
    with open(path, "w") as f:
        f.write(dot + "\n")
    print(f"wrote {path}")
    try:
        import graphviz
    except ImportError:
        print("graphviz not installed: render with `dot -Tpng` yourself")
    else:
        print(f"rendered {graphviz.Source(dot).render(path, format='png')}")


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few steps, for CI")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--dot", default=None, help="write the example graph's DOT text here instead of printing")
    args = parser.parse_args(argv)
    steps = args.steps or (5 if args.quick else 30)

    draw_example(args.dot, args.device)

    random.seed(0)
    x, y = make_moons(60, noise=0.1, rng=np.random.default_rng(0))
    xs = [[torch.tensor(float(v), device=args.device) for v in row] for row in x]
    model = MLP([2, 8, 8, 1], args.device)
    params = model.parameters()

    def score():
        preds = [model(row) for row in xs]
        # micrograd's SVM max-margin loss plus L2 regularisation
        hinge = sum((1 - yi * p).relu() for yi, p in zip(y.tolist(), preds)) / len(preds)
        reg = 1e-4 * sum(p * p for p in params)
        acc = float(np.mean([(p.item() > 0) == (yi > 0) for yi, p in zip(y, preds)]))
        return hinge + reg, acc

    for step in range(steps):
        loss, acc = score()
        for p in params:
            p.grad = None
        loss.backward()
        lr = 1.0 - 0.9 * step / steps
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 5 == 0 or step == steps - 1:
            print(f"step {step} loss={loss.item():.4f} accuracy={acc:.3f}")
    with torch.no_grad():
        _, acc = score()
    print(f"accuracy={acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
