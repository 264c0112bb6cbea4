"""Small training-loop helpers: ``fit``, ``train_one_epoch``, ``evaluate`` and an ``accuracy`` metric.

refgrad has no counterpart in torch for this module (torch leaves the loop to the user); it is the loop every
demo would otherwise repeat. A "loader" is ANY iterable of ``(inputs, targets)`` batches: a
``refgrad.utils.data.DataLoader`` or a plain list of tuples of tensors. The model is not moved: put it on
``device`` before building its optimizer (as in torch); ``device`` only moves each batch.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ._tensor import Tensor
from .autograd.grad_mode import no_grad
from .optim.lr_scheduler import ReduceLROnPlateau

__all__ = ["History", "accuracy", "evaluate", "fit", "train_one_epoch"]


def _to(obj, device):
    """Move a tensor, or a (nested) tuple/list/dict of tensors, to ``device``; other objects pass through."""
    if device is None:
        return obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj.to(device) if isinstance(obj, Tensor) else obj


def _batch_size(targets) -> int:
    """Samples in a batch, so that epoch means weight each sample equally whatever the last batch's size."""
    if isinstance(targets, (tuple, list)):
        return _batch_size(targets[0]) if targets else 1
    shape = getattr(targets, "shape", ())
    return int(shape[0]) if len(shape) else 1


def accuracy(outputs, targets, threshold: float = 0.5) -> float:
    """Fraction of correct predictions.

    Class scores (``outputs.ndim == targets.ndim + 1``) are compared by argmax over the last dim; otherwise
    outputs are binary scores, predicted 1 where ``outputs > threshold``, against 0/1 targets.
    """
    if outputs.ndim == targets.ndim + 1:
        preds = outputs.argmax(-1)
    else:
        preds = (outputs > threshold).reshape(targets.shape)
        targets = targets != 0
    if targets.numel() == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    return (preds == targets).float().mean().item()


def train_one_epoch(model, loader, loss_fn, optimizer, device=None) -> float:
    """One pass over ``loader`` in train mode: zero_grad, forward, loss, backward, step per batch.

    Returns the epoch's mean loss, each batch's loss weighted by its number of samples.
    """
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = _to(inputs, device), _to(targets, device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        n = _batch_size(targets)
        total += loss.item() * n
        count += n
    if count == 0:
        raise ValueError("train_one_epoch got an empty loader")
    return total / count


def evaluate(model, loader, loss_fn, metrics=None, device=None) -> dict:
    """Mean loss and metrics over ``loader`` in eval mode under ``no_grad``; the model's mode is restored after.

    ``metrics`` maps a name to ``fn(outputs, targets) -> float``; each is averaged over batches weighted by
    batch size (exact for per-sample means such as :func:`accuracy`). Returns ``{"loss": ..., name: ...}``.
    """
    metrics = metrics or {}
    was_training = model.training
    model.eval()
    sums = dict.fromkeys(["loss", *metrics], 0.0)
    count = 0
    try:
        with no_grad():
            for inputs, targets in loader:
                inputs, targets = _to(inputs, device), _to(targets, device)
                outputs = model(inputs)
                n = _batch_size(targets)
                sums["loss"] += loss_fn(outputs, targets).item() * n
                for name, fn in metrics.items():
                    sums[name] += float(fn(outputs, targets)) * n
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate got an empty loader")
    return {name: s / count for name, s in sums.items()}


@dataclass
class History:
    """Per-epoch record kept by :func:`fit`.

    ``train_loss``, ``lr`` (the first param group's learning rate used during the epoch) and each
    ``metrics[name]`` have one entry per epoch; ``val_loss`` too when a validation loader was given, else it
    stays empty. Metrics are measured on the validation loader when there is one, else on the training loader.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    lr: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)

    def plot(self, path) -> None:
        """Write the curves per epoch to a PNG at ``path``: train and val loss in one panel, one panel per metric,
        and the learning rate (log scale when it spans more than a decade).

        Needs matplotlib (optional: ``pip install matplotlib``), imported here only. Draws on its Agg canvas
        without pyplot, so the caller's matplotlib backend and open figures are left alone.
        """
        try:
            import matplotlib  # noqa: F401 - first, so that a blocked or missing package fails here
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib, which is not installed: pip install matplotlib") from e

        def epochs(values):
            return range(1, len(values) + 1)

        panels = [("loss", {"train": self.train_loss, "val": self.val_loss})]
        panels += [(name, {name: values}) for name, values in self.metrics.items()]
        panels.append(("lr", {"lr": self.lr}))
        fig = Figure(figsize=(4 * len(panels), 3.5), layout="tight")
        FigureCanvasAgg(fig)
        for ax, (title, series) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
            for label, values in series.items():
                if values:
                    ax.plot(epochs(values), values, marker="o" if len(values) == 1 else None, label=label)
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if len(series) > 1 and ax.get_legend_handles_labels()[0]:
                ax.legend()
        if self.lr and min(self.lr) > 0 and max(self.lr) > 10 * min(self.lr):
            ax.set_yscale("log")  # ax is the lr panel, the last one
        fig.savefig(path, format="png")


def _epoch_iter(epochs: int, progress: bool):
    """tqdm over epochs when it is installed and stderr is a terminal; else a plain range (and a log line each)."""
    if progress and sys.stderr.isatty():
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(range(epochs), file=sys.stderr, unit="epoch"), True
    return range(epochs), False


def fit(model, train_loader, loss_fn, optimizer, epochs, scheduler=None, val_loader=None, metrics=None, device=None,
        checkpoint=None, progress=True) -> History:
    """Train for ``epochs`` epochs and return a :class:`History`.

    Each epoch: :func:`train_one_epoch`, then :func:`evaluate` on ``val_loader`` (or on ``train_loader`` when
    metrics are asked for and there is no validation loader), then ``scheduler.step()`` (``ReduceLROnPlateau``
    gets the validation loss, else the training loss), then ``checkpoint(epoch, model, optimizer, scheduler)``
    with the 0-based epoch index. ``progress`` shows a tqdm bar (tqdm installed, stderr a TTY) or else one log
    line per epoch on stderr; ``progress=False`` writes nothing.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be non-negative, got {epochs}")
    metrics = metrics or {}
    history = History(metrics={name: [] for name in metrics})
    bar, is_tqdm = _epoch_iter(epochs, progress)
    for epoch in bar:
        history.lr.append(optimizer.param_groups[0]["lr"])
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        history.train_loss.append(train_loss)
        stats = {"train_loss": train_loss}
        eval_loader = val_loader if val_loader is not None else (train_loader if metrics else None)
        if eval_loader is not None:
            result = evaluate(model, eval_loader, loss_fn, metrics, device)
            if val_loader is not None:
                history.val_loss.append(result["loss"])
                stats["val_loss"] = result["loss"]
            for name in metrics:
                history.metrics[name].append(result[name])
                stats[name] = result[name]
        if scheduler is not None:
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(stats.get("val_loss", train_loss))
            else:
                scheduler.step()
        if checkpoint is not None:
            checkpoint(epoch, model, optimizer, scheduler)
        if is_tqdm:
            bar.set_postfix({k: f"{v:.4g}" for k, v in stats.items()})
        elif progress:
            line = " ".join(f"{k}={v:.4g}" for k, v in stats.items())
            print(f"epoch {epoch + 1}/{epochs} {line} lr={history.lr[-1]:.4g}", file=sys.stderr, flush=True)
    return history
