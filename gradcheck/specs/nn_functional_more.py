"""More op specs for refgrad.nn.functional (names "nn.functional.NAME", torch.nn.functional as the oracle):
the public names that nn_functional.py and nn_losses.py leave out -- the in-place activations (called on a
clone, so that the differentiated input is not a leaf modified in place), the ``*_with_indices`` pools
(values and integer indices both compared with torch), adaptive_max_pool1d, the deprecated upsample
aliases, the dropout family in its deterministic settings (p=0, or training=False: the identity; the
random masks draw from refgrad's own stream and are tested in oracle_tests/test_nn_dropout_embedding.py)
and embedding_bag. Shapes are tiny, as in nn_functional.py."""
from __future__ import annotations

import warnings

import numpy as np

import refgrad.nn.functional as F

from ..sampling import kinks_at
from ..spec import Sample, Spec, register

TF = "torch.nn.functional."


def op(name, sampler, *, fn=None, torch=None, **kw):
    register(Spec(name=f"nn.functional.{name}", fn=fn or getattr(F, name), torch=torch or TF + name,
                  sampler=sampler, **kw))


def n(rng, *shape, scale=1.0):
    return np.asarray(scale * rng.standard_normal(shape))


def cycle(*makers):
    """A sampler cycling the given ``maker(rng) -> Sample`` patterns by sample index."""
    return lambda rng, i: makers[i % len(makers)](rng)


# -- in-place activations: f_(x.clone(), ...) in both engines --------------------------------------
_SHAPES = [(2, 5), (), (3, 1, 2), (0, 3)]


def _inplace(name):
    ours = getattr(F, name)
    return (lambda x, *a, **k: ours(x.clone(), *a, **k),
            lambda torch: lambda x, *a, **k: getattr(torch.nn.functional, name)(x.clone(), *a, **k))


def act_(name, kinks=(), args=(), kwargs=(), scale=1.5, **kw):
    kwargs = list(kwargs) or [{}]
    fn, th = _inplace(name)

    def sampler(rng, i):
        return Sample((n(rng, *_SHAPES[i % len(_SHAPES)], scale=scale), *args), dict(kwargs[i % len(kwargs)]))
    op(name, sampler, fn=fn, torch=th, avoid=kinks_at(*kinks) if kinks else None, **kw)


act_("threshold_", kinks=(0.1,), args=(0.1, -2.0))
act_("relu_", kinks=(0.0,))
act_("hardtanh_", kinks=(-0.5, 0.8, -1.0, 1.0), kwargs=[{"min_val": -0.5, "max_val": 0.8}, {}])
act_("leaky_relu_", kinks=(0.0,), kwargs=[{"negative_slope": 0.2}, {}])
act_("elu_", kinks=(0.0,), kwargs=[{"alpha": 0.7}, {}])
act_("selu_", kinks=(0.0,))
act_("celu_", kinks=(0.0,), kwargs=[{"alpha": 1.3}, {}])

# -- pools returning (values, indices): random normal values, no ties inside a window ---------------
op("max_pool1d_with_indices", cycle(lambda r: Sample((n(r, 2, 3, 6), 2)),
                                    lambda r: Sample((n(r, 1, 2, 7), 3), {"stride": 2, "padding": 1}),
                                    lambda r: Sample((n(r, 2, 7), 2), {"dilation": 2, "ceil_mode": True})))
op("max_pool2d_with_indices", cycle(lambda r: Sample((n(r, 1, 2, 4, 4), 2)),
                                    lambda r: Sample((n(r, 1, 2, 5, 5), 3), {"stride": 2, "padding": 1}),
                                    lambda r: Sample((n(r, 2, 5, 4), (2, 3)), {"stride": 1, "dilation": (2, 1)})))
op("max_pool3d_with_indices", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2)),
                                    lambda r: Sample((n(r, 2, 3, 4, 3), (2, 3, 2)), {"stride": 1, "padding": 1})))
op("adaptive_max_pool1d", cycle(lambda r: Sample((n(r, 2, 3, 7), 3)),
                                lambda r: Sample((n(r, 1, 2, 4), 4)),
                                lambda r: Sample((n(r, 2, 5), 2), {"return_indices": True})))
op("adaptive_max_pool1d_with_indices", cycle(lambda r: Sample((n(r, 2, 3, 7), 3)),
                                             lambda r: Sample((n(r, 2, 5), 1))))
op("adaptive_max_pool2d_with_indices", cycle(lambda r: Sample((n(r, 1, 2, 5, 4), 2)),
                                             lambda r: Sample((n(r, 2, 3, 3), (1, 2)))))
op("adaptive_max_pool3d_with_indices", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), (2, 3, 2))),
                                             lambda r: Sample((n(r, 2, 3, 4, 3), 1))))


# -- deprecated upsample aliases (torch warns on each call: silenced in the oracle) ------------------
def _quiet(name):
    def resolve(torch):
        f = getattr(torch.nn.functional, name)

        def call(*a, **k):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return f(*a, **k)
        return call
    return resolve


def _quiet_ours(name):
    f = getattr(F, name)

    def call(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(*a, **k)
    return call


op("upsample", cycle(lambda r: Sample((n(r, 1, 2, 3, 3),), {"scale_factor": 2}),
                     lambda r: Sample((n(r, 1, 2, 3, 3),), {"size": (5, 4), "mode": "bilinear",
                                                            "align_corners": False}),
                     lambda r: Sample((n(r, 2, 2, 4),), {"size": 7, "mode": "linear", "align_corners": True})),
   fn=_quiet_ours("upsample"), torch=_quiet("upsample"))
op("upsample_nearest", cycle(lambda r: Sample((n(r, 1, 2, 3, 3),), {"scale_factor": 2}),
                             lambda r: Sample((n(r, 1, 1, 5),), {"size": 3}),
                             lambda r: Sample((n(r, 2, 1, 2, 3),), {"size": (3, 5)})),
   fn=_quiet_ours("upsample_nearest"), torch=_quiet("upsample_nearest"))
# upsample_bilinear is interpolate(mode="bilinear", align_corners=True)
op("upsample_bilinear", cycle(lambda r: Sample((n(r, 1, 2, 3, 3),), {"scale_factor": 2}),
                              lambda r: Sample((n(r, 2, 1, 2, 3),), {"size": (4, 5)})),
   fn=_quiet_ours("upsample_bilinear"), torch=_quiet("upsample_bilinear"))


# -- dropout family, deterministic settings: p=0 in training mode, or training=False ---------------
def dropout(name, shapes, default_training):
    settings = [{"p": 0.5, "training": False}, {"p": 0.0, "training": True}, {"p": 0.3, "training": False}]
    if not default_training:
        settings.append({"p": 0.5})  # the default training=False of the alpha dropouts

    def sampler(rng, i):
        return Sample((n(rng, *shapes[i % len(shapes)]),), dict(settings[i % len(settings)]))
    op(name, sampler)


dropout("dropout", [(2, 5), (), (3, 1, 2), (0, 3)], True)
dropout("dropout1d", [(2, 3, 4), (3, 5)], True)
# (a 3-D input warns, in torch and refgrad alike: the deprecated "assuming 1-D channel-wise dropout" path)
dropout("dropout2d", [(2, 3, 2, 2), (1, 2, 3, 3)], True)
dropout("dropout3d", [(1, 2, 2, 2, 2), (2, 2, 1, 2)], True)
dropout("alpha_dropout", [(2, 5), (), (3, 1, 2)], False)
dropout("feature_alpha_dropout", [(2, 3, 4), (1, 2, 2, 2)], False)


# -- embedding_bag ----------------------------------------------------------------------------------
def _bag_definition(torch, input, weight, offsets=None, mode="mean", per_sample_weights=None,
                    include_last_offset=False):
    """embedding_bag by its definition (per-bag sum / mean / max of the looked-up rows)."""
    if input.dim() == 2:
        width = input.shape[1]
        bounds = [(i * width, (i + 1) * width) for i in range(input.shape[0])]
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    else:
        offs = [int(o) for o in offsets]
        ends = offs[1:] if include_last_offset else offs[1:] + [input.shape[0]]
        bounds = list(zip(offs[:len(ends)], ends))
    rows = []
    for s, e in bounds:
        emb = weight[input[s:e]]
        if per_sample_weights is not None:
            emb = emb * per_sample_weights[s:e, None]
        if e == s:
            rows.append(weight.new_zeros(weight.shape[1:]) + 0 * weight.sum())
        elif mode == "sum":
            rows.append(emb.sum(0))
        elif mode == "mean":
            rows.append(emb.mean(0))
        else:
            rows.append(emb.amax(0))
    return torch.stack(rows)


def _bag_oracle(torch):
    # torch's _embedding_bag_backward has no derivative, so the double backward cannot come from torch's
    # kernel: the oracle's VALUE is torch.nn.functional.embedding_bag's, its derivatives (first and second)
    # are those of the definition above (value + (defn - defn.detach()))
    names = ("offsets", "max_norm", "norm_type", "scale_grad_by_freq", "mode", "sparse", "per_sample_weights")

    def call(input, weight, *rest, **kw):
        kw.update(zip(names, rest))
        real = torch.nn.functional.embedding_bag(input, weight, **kw)
        defn = _bag_definition(torch, input, weight, kw.get("offsets"), kw.get("mode", "mean"),
                               kw.get("per_sample_weights"), kw.get("include_last_offset", False))
        return real.detach() + (defn - defn.detach())
    return call


def _bag2d(mode):
    return lambda r: Sample((r.integers(0, 6, (3, 4)), n(r, 6, 3)), {"mode": mode})


def _bag1d(mode, offsets=(0, 2, 2, 5), **kw):
    return lambda r: Sample((r.integers(0, 6, (7,)), n(r, 6, 2), np.array(offsets)), {"mode": mode, **kw})


def _bag_max(r):
    # distinct rows inside each bag: no ties for the max
    return Sample((np.stack([r.permutation(6)[:3] for _ in range(2)]), n(r, 6, 2)), {"mode": "max"})


def _bag_weighted(r):
    # per_sample_weights is a tensor argument (differentiated too): passed positionally
    return Sample((r.integers(0, 5, (2, 3)), n(r, 5, 2), None, None, 2, False, "sum", False, n(r, 2, 3)))


op("embedding_bag", cycle(_bag2d("mean"), _bag1d("sum"), _bag_max, _bag_weighted),
   regression=[Sample((np.array([1, 0, 4, 4, 2, 5, 3]), np.linspace(-1, 1, 12).reshape(6, 2), np.array([0, 3, 3, 7])),
                      {"mode": "mean", "include_last_offset": True}, label="include_last_offset, an empty bag"),
               Sample((np.array([[1, 3], [3, 3]]), np.linspace(-1, 1, 10).reshape(5, 2)), {"mode": "sum"},
                      label="repeated index in a bag")],
   torch=_bag_oracle)
