"""Learn the majority vote of 5 binary inputs with a small MLP, mean-squared error and plain SGD.

Run: ``python examples/majority.py [--quick] [--device cpu]``. The last line is ``accuracy=<float>``, measured
on all 32 input patterns.
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np

import refgrad as torch
import refgrad.training as training


def all_patterns(n_bits: int):
    """Every n-bit 0/1 pattern and its majority label (1 where more than half the bits are set)."""
    x = np.array(list(itertools.product([0.0, 1.0], repeat=n_bits)), dtype=np.float32)
    y = (x.sum(1, keepdims=True) > n_bits / 2).astype(np.float32)
    return x, y


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few epochs, for CI")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    epochs = args.epochs or (5 if args.quick else 30)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = all_patterns(5)
    # Training draws random patterns (with repeats) in batches of 16; the score covers all 32 patterns.
    idx = rng.integers(0, len(x), size=512)
    train = [(torch.from_numpy(x[idx[i:i + 16]]), torch.from_numpy(y[idx[i:i + 16]])) for i in range(0, 512, 16)]
    everything = [(torch.from_numpy(x), torch.from_numpy(y))]

    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1),
                                torch.nn.Sigmoid()).to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loss_fn = torch.nn.MSELoss()
    history = training.fit(model, train, loss_fn, optimizer, epochs, metrics={"accuracy": training.accuracy},
                           device=args.device)
    print(f"final train_loss={history.train_loss[-1]:.4f}")
    result = training.evaluate(model, everything, loss_fn, {"accuracy": training.accuracy}, device=args.device)
    print(f"accuracy={result['accuracy']:.4f}")
    return result["accuracy"]


if __name__ == "__main__":
    main()
