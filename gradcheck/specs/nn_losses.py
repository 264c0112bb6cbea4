"""Loss specs (kind "loss"): every refgrad.nn.functional loss, reductions none / mean / sum cycled over
the samples, with torch.nn.functional's loss as the oracle.

A loss is an op with targets: the op checks (forward, vjp, fd, gradgrad_fd, gradgrad_oracle, parity,
invariants) are registered for kind "loss" here as they are, so ``--kind loss`` sweeps them. Targets that
torch cannot differentiate (class indices, signs, soft-margin labels) are left out of ``diff``.
"""
from __future__ import annotations

import numpy as np

import refgrad
import refgrad.nn.functional as F

from ..checks import CHECKS, register_check
from ..sampling import ties
from ..spec import Sample, Spec, register

for _check in list(CHECKS.get("op", {}).values()):
    if _check.name not in CHECKS.get("loss", {}):
        register_check("loss", _check.name, group=_check.group, dtypes=_check.dtypes,
                       needs_oracle=_check.needs_oracle, applies=_check.applies)(_check.fn)

REDUCTIONS = ("mean", "none", "sum")


def n(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def u(rng, lo, hi, *shape):
    return np.asarray(rng.uniform(lo, hi, shape))


def sign(rng, *shape):
    return np.asarray(rng.choice([-1.0, 1.0], shape))


def probs(rng, *shape):
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(-1, keepdims=True)


_SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def loss(name, make, *, avoid=None, extra=({},), torch=None, reductions=REDUCTIONS, **kw):
    """make(rng, shape) -> (args, diff); samples cycle the reductions, the shapes and ``extra`` kwargs."""
    def sampler(rng, i):
        args, diff = make(rng, _SHAPES[i % len(_SHAPES)])
        kwargs = {"reduction": reductions[i % len(reductions)], **extra[i % len(extra)]}
        return Sample(tuple(args), kwargs, diff=diff)
    register(Spec(name=f"nn.functional.{name}", kind="loss", fn=getattr(F, name),
                  torch=torch or f"torch.nn.functional.{name}", sampler=sampler, avoid=avoid, **kw))


def _pair(rng, s):
    return (n(rng, *s), n(rng, *s)), [0, 1]


loss("mse_loss", _pair)
loss("l1_loss", _pair, avoid=ties(0, 1))
loss("smooth_l1_loss", _pair, extra=({}, {"beta": 0.5}, {"beta": 0.0}), avoid=ties(0, 1))
loss("huber_loss", _pair, extra=({}, {"delta": 0.7}), avoid=ties(0, 1))
loss("soft_margin_loss", lambda r, s: ((n(r, *s), sign(r, *s)), [0]))
loss("binary_cross_entropy", lambda r, s: ((u(r, 0.1, 0.9, *s), u(r, 0, 1, *s)), [0, 1]))
loss("binary_cross_entropy_with_logits", lambda r, s: ((n(r, *s), u(r, 0, 1, *s)), [0, 1]))
loss("kl_div", lambda r, s: ((np.log(probs(r, *s)) if s else n(r), probs(r, *s) if s else u(r, 0.1, 1)), [0, 1]),
     extra=({}, {"log_target": True}), reductions=("batchmean", "none", "sum"))  # 'mean' warns (torch too)
# positive inputs: rates when log_input=False, log-rates otherwise
loss("poisson_nll_loss", lambda r, s: ((u(r, 0.2, 2, *s), u(r, 0, 3, *s)), [0]),
     extra=({}, {"log_input": False, "full": True}))
loss("hinge_embedding_loss", lambda r, s: ((n(r, *s), sign(r, *s)), [0]), extra=({}, {"margin": 0.5}))
loss("multilabel_soft_margin_loss", lambda r, s: ((n(r, 3, 4), r.integers(0, 2, (3, 4)).astype(np.float64)), [0]))
loss("margin_ranking_loss", lambda r, s: ((n(r, 5), n(r, 5), sign(r, 5)), [0, 1]), extra=({}, {"margin": 0.2}))
loss("cosine_embedding_loss", lambda r, s: ((n(r, 3, 4), n(r, 3, 4), sign(r, 3)), [0, 1]),
     extra=({}, {"margin": 0.2}))
loss("triplet_margin_loss", lambda r, s: ((n(r, 3, 4), n(r, 3, 4), n(r, 3, 4)), [0, 1, 2]),
     extra=({}, {"margin": 0.5, "p": 1.5}, {"swap": True}))
loss("gaussian_nll_loss", lambda r, s: ((n(r, 3, 4), n(r, 3, 4), u(r, 0.5, 2, 3, 4)), [0, 1, 2]),
     extra=({}, {"full": True}))
loss("cross_entropy", lambda r, s: ((n(r, 3, 4), r.integers(0, 4, (3,))), [0]),
     extra=({}, {"label_smoothing": 0.1}, {"ignore_index": 1}))
loss("nll_loss", lambda r, s: ((np.log(probs(r, 3, 4)), r.integers(0, 4, (3,))), [0]),
     extra=({}, {"ignore_index": 2}))


def _torch_multi_margin(torch):
    """torch's multi_margin_loss has no double backward (multi_margin_loss_backward): the oracle is its
    definition, sum_{j != y} max(0, margin - x_y + x_j)^p / C per row, which torch differentiates twice."""
    def f(x, y, p=1, margin=1.0, weight=None, reduction="mean"):
        xy = x.gather(1, y[:, None])
        terms = torch.clamp(margin - xy + x, min=0) ** p
        out = terms.scatter(1, y[:, None], 0.0).sum(1) / x.shape[1]
        return {"none": out, "mean": out.mean(), "sum": out.sum()}[reduction]
    return f


loss("multi_margin_loss", lambda r, s: ((n(r, 3, 4), r.integers(0, 4, (3,))), [0]),
     extra=({}, {"p": 2, "margin": 0.5}), torch=_torch_multi_margin)


# -- CTC ---------------------------------------------------------------------------------------------
# torch's ctc_loss gradient w.r.t. log_probs is its formula exp(lp) - exp(log(alpha beta) + nll - lp), the true
# derivative plus exp(lp) (refgrad reproduces it, see refgrad.nn.functional.ctc_loss): finite differences in
# log_probs would not agree, in torch either. Through a log_softmax (torch's documented contract: log_probs are
# log_softmax outputs) the extra term cancels, so the specs feed logits through log_softmax and every check
# (forward, vjp, FD, gradgrad_fd) applies. torch has no double backward (_ctc_loss_backward): gradgrad_oracle is
# skipped as the oracle cannot differentiate it; gradgrad_fd checks refgrad's. The raw-log_probs gradient is
# compared with torch in oracle_tests/test_nn_ctc.py.
_T, _N, _C = 6, 2, 4


def _ctc_labels(rng, blank, *shape):
    # labels never equal the blank (torch's contract; its gradient is wrong for such targets)
    lab = rng.integers(0, _C - 1, shape)
    return lab + (lab >= blank)


def _ctc_padded(rng, blank=0):
    tl = rng.integers(0, 4, _N)  # 0 too: the mean divides by max(length, 1)
    return (n(rng, _T, _N, _C), _ctc_labels(rng, blank, _N, 3), np.array([_T, _T - 1]), tl)


def _ctc_concat(rng, blank=0):
    tl = rng.integers(0, 4, _N)
    return (n(rng, _T, _N, _C), _ctc_labels(rng, blank, int(tl.sum())), (_T - 2, _T), tuple(int(v) for v in tl))


def _ctc_impossible(rng, blank=0):
    # sample 0: a repeated label needs a blank between its copies, 3 steps for 2 labels: impossible in 2
    lab = _ctc_labels(rng, blank, _N, 3)
    lab[0, 1] = lab[0, 0]
    return (n(rng, _T, _N, _C), lab, np.array([2, _T]), np.array([2, 3]))


def _ctc_unbatched(rng, blank=0):
    return (n(rng, _T, _C), _ctc_labels(rng, blank, 3), (_T,), (3,))


_CTC_SAMPLES = [(_ctc_padded, {"reduction": "mean"}), (_ctc_concat, {"reduction": "none", "blank": 2}),
                (_ctc_padded, {"reduction": "sum", "blank": 3}),
                (_ctc_impossible, {"reduction": "none", "zero_infinity": True}),
                (_ctc_unbatched, {"reduction": "mean", "blank": 1}),
                (_ctc_impossible, {"reduction": "mean", "zero_infinity": True, "blank": 1})]


def _ctc_sampler(rng, i):
    make, kwargs = _CTC_SAMPLES[i % len(_CTC_SAMPLES)]
    return Sample(make(rng, kwargs.get("blank", 0)), dict(kwargs), diff=[0])


register(Spec(name="nn.functional.ctc_loss", kind="loss",
              fn=lambda x, *args, **kw: F.ctc_loss(F.log_softmax(x, -1), *args, **kw),
              torch=lambda torch: lambda x, *args, **kw: torch.nn.functional.ctc_loss(x.log_softmax(-1), *args, **kw),
              sampler=_ctc_sampler))


def _ctc_module(**kwargs):
    """A CTCLoss behind a log_softmax, built in either engine (the module specs' ``build`` hook)."""
    def build(engine):
        class LogSoftmaxCTC(engine.nn.Module):
            def __init__(self):
                super().__init__()
                self.ctc = engine.nn.CTCLoss(**kwargs)

            def forward(self, logits, *args):
                return self.ctc(logits.log_softmax(-1), *args)
        return LogSoftmaxCTC()
    return build


for _name, _make, _kw in [("CTCLoss", _ctc_padded, {}),
                          ("CTCLoss(blank=2,reduction='sum')", _ctc_concat, {"blank": 2, "reduction": "sum"}),
                          ("CTCLoss(reduction='none',zero_infinity=True)", _ctc_impossible,
                           {"reduction": "none", "zero_infinity": True})]:
    register(Spec(name=_name, kind="module", fn=refgrad.nn.CTCLoss, torch="torch.nn.CTCLoss",
                  sampler=lambda rng, i, make=_make, blank=_kw.get("blank", 0): Sample(make(rng, blank), diff=[0]),
                  dtypes={"cpu": ("float32", "float64")},
                  meta={"cls": "CTCLoss", "args": (), "kwargs": _kw, "build": _ctc_module(**_kw)}))
