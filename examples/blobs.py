"""Classify three Gaussian blobs with a small MLP, trained by ``refgrad.training.fit``.

Run: ``python examples/blobs.py [--quick] [--device cpu]``. The last line is ``test_accuracy=<float>``.
"""
from __future__ import annotations

import argparse

import numpy as np

import refgrad as torch
import refgrad.training as training


def make_blobs(n_per_class: int, centers: np.ndarray, std: float, rng: np.random.Generator):
    """sklearn-style make_blobs: ``n_per_class`` isotropic Gaussian points around each center, shuffled."""
    x = np.concatenate([c + std * rng.standard_normal((n_per_class, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """A plain list of (inputs, targets) tensor batches: any iterable of batches is a loader for ``fit``."""
    return [(torch.from_numpy(x[i:i + batch_size]), torch.from_numpy(y[i:i + batch_size]))
            for i in range(0, len(y), batch_size)]


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few epochs, for CI")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 20)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]])
    x, y = make_blobs(200, centers, std=1.0, rng=rng)
    n_train, n_val = 360, 120
    train = batches(x[:n_train], y[:n_train], 32)
    val = batches(x[n_train:n_train + n_val], y[n_train:n_train + n_val], 64)
    test = batches(x[n_train + n_val:], y[n_train + n_val:], 64)

    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    loss_fn = torch.nn.CrossEntropyLoss()
    metrics = {"accuracy": training.accuracy}
    history = training.fit(model, train, loss_fn, optimizer, epochs, scheduler=scheduler, val_loader=val,
                           metrics=metrics, device=args.device)
    print(f"final train_loss={history.train_loss[-1]:.4f} val_loss={history.val_loss[-1]:.4f} "
          f"val_accuracy={history.metrics['accuracy'][-1]:.4f}")
    result = training.evaluate(model, test, loss_fn, metrics, device=args.device)
    print(f"test_accuracy={result['accuracy']:.4f}")
    return result["accuracy"]


if __name__ == "__main__":
    main()
