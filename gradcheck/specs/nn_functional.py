"""Op specs for refgrad.nn.functional (names "nn.functional.NAME", torch.nn.functional as the oracle):
convolutions, pooling, padding and resampling, normalization (batch_norm in eval mode: the running
statistics are non-differentiable arguments), embeddings, distances, attention and the activations.
Shapes are kept tiny (the op checks run forward, VJP, FD, double backward and invariants on each)."""
from __future__ import annotations

import numpy as np

import refgrad.nn.functional as F

from ..sampling import kinks_at
from ..spec import Sample, Spec, Tol, register

TF = "torch.nn.functional."
F32_SUMS = Tol(1e-4, 1e-4, "float32 reductions (conv/matmul sums, norm statistics) in other summation orders than "
                           "torch's kernels")


def op(name, sampler, *, fn=None, torch=None, avoid=None, tol=None, **kw):
    tolerances = {("*", "float32"): tol} if tol else {}
    register(Spec(name=f"nn.functional.{name}", fn=fn or getattr(F, name), torch=torch or TF + name,
                  sampler=sampler, avoid=avoid, tolerances=tolerances, **kw))


def n(rng, *shape, scale=1.0):
    return np.asarray(scale * rng.standard_normal(shape))


def cycle(*makers):
    """A sampler cycling the given ``maker(rng) -> Sample`` patterns by sample index."""
    return lambda rng, i: makers[i % len(makers)](rng)


# -- linear ---------------------------------------------------------------------------------------
op("linear", cycle(lambda r: Sample((n(r, 2, 4), n(r, 3, 4), n(r, 3))),
                   lambda r: Sample((n(r, 2, 2, 4), n(r, 3, 4)))))
op("bilinear", cycle(lambda r: Sample((n(r, 2, 3), n(r, 2, 2), n(r, 4, 3, 2), n(r, 4))),
                     lambda r: Sample((n(r, 3), n(r, 2), n(r, 1, 3, 2)))))
# -- convolutions ---------------------------------------------------------------------------------
op("conv1d", cycle(lambda r: Sample((n(r, 2, 2, 7), n(r, 3, 2, 3), n(r, 3)), {"stride": 2, "padding": 1}),
                   lambda r: Sample((n(r, 1, 4, 6), n(r, 4, 2, 2)), {"groups": 2, "dilation": 2}),
                   lambda r: Sample((n(r, 2, 5), n(r, 2, 2, 3)), {"padding": "same"})), tol=F32_SUMS)
op("conv2d", cycle(lambda r: Sample((n(r, 1, 2, 5, 5), n(r, 3, 2, 3, 3), n(r, 3)), {"padding": 1}),
                   lambda r: Sample((n(r, 2, 2, 4, 5), n(r, 2, 1, 2, 2)), {"stride": (2, 1), "groups": 2}),
                   lambda r: Sample((n(r, 1, 1, 5, 6), n(r, 2, 1, 2, 3)), {"dilation": (2, 1), "padding": "valid"})),
   tol=F32_SUMS)
op("conv_transpose1d", cycle(lambda r: Sample((n(r, 2, 2, 4), n(r, 2, 3, 3), n(r, 3)), {"stride": 2}),
                             lambda r: Sample((n(r, 1, 2, 3), n(r, 2, 2, 2)), {"padding": 1, "output_padding": 0})),
   tol=F32_SUMS)
op("conv_transpose2d", cycle(
    lambda r: Sample((n(r, 1, 2, 3, 3), n(r, 2, 3, 3, 3), n(r, 3)), {"stride": 2, "padding": 1, "output_padding": 1}),
    lambda r: Sample((n(r, 2, 4, 2, 3), n(r, 4, 1, 2, 2)), {"groups": 2, "dilation": (1, 2)})), tol=F32_SUMS)
op("conv3d", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), n(r, 3, 2, 2, 2, 2), n(r, 3)), {"padding": 1}),
                   lambda r: Sample((n(r, 1, 2, 3, 4, 3), n(r, 2, 1, 2, 2, 2)), {"stride": (1, 2, 1), "groups": 2}),
                   lambda r: Sample((n(r, 2, 3, 4, 3), n(r, 2, 2, 1, 2, 2)), {"dilation": (1, 2, 1),
                                                                             "padding": "same"})), tol=F32_SUMS)
op("conv_transpose3d", cycle(
    lambda r: Sample((n(r, 1, 2, 2, 3, 2), n(r, 2, 3, 2, 2, 2), n(r, 3)), {"stride": 2, "padding": 1,
                                                                           "output_padding": 1}),
    lambda r: Sample((n(r, 1, 4, 2, 2, 3), n(r, 4, 1, 2, 1, 2)), {"groups": 2, "dilation": (2, 1, 1)})), tol=F32_SUMS)
# -- pooling (random normal values: no ties inside a window) -------------------------------------
op("max_pool1d", cycle(lambda r: Sample((n(r, 2, 3, 6), 2)),
                       lambda r: Sample((n(r, 1, 2, 7), 3), {"stride": 2, "padding": 1})))
op("max_pool2d", cycle(lambda r: Sample((n(r, 1, 2, 4, 4), 2)),
                       lambda r: Sample((n(r, 1, 2, 5, 5), 3), {"stride": 2, "padding": 1}),
                       lambda r: Sample((n(r, 2, 1, 5, 4), (2, 3)), {"stride": 1, "dilation": (2, 1)}),
                       lambda r: Sample((n(r, 1, 2, 5, 5), 2), {"ceil_mode": True})))
op("max_pool3d", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2)),
                       lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2), {"stride": 1, "padding": 1}),
                       lambda r: Sample((n(r, 2, 3, 5, 3), (1, 2, 2)), {"dilation": (1, 2, 1), "ceil_mode": True})))
op("avg_pool1d", cycle(lambda r: Sample((n(r, 2, 3, 6), 2)),
                       lambda r: Sample((n(r, 1, 2, 7), 3), {"stride": 2, "padding": 1, "count_include_pad": False})))
op("avg_pool2d", cycle(lambda r: Sample((n(r, 1, 2, 4, 4), 2)),
                       lambda r: Sample((n(r, 1, 2, 5, 5), 3), {"stride": 2, "padding": 1, "count_include_pad": False}),
                       lambda r: Sample((n(r, 1, 1, 5, 5), 2), {"ceil_mode": True, "divisor_override": 3})))
op("avg_pool3d", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2)),
                       lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2), {"stride": 1, "padding": 1,
                                                                   "count_include_pad": False}),
                       lambda r: Sample((n(r, 2, 3, 5, 3), (2, 2, 3)), {"ceil_mode": True, "divisor_override": 5})))
op("adaptive_avg_pool1d", cycle(lambda r: Sample((n(r, 2, 3, 7), 3)), lambda r: Sample((n(r, 1, 2, 4), 4))))
op("adaptive_avg_pool2d", cycle(lambda r: Sample((n(r, 1, 2, 5, 7), (2, 3))),
                                lambda r: Sample((n(r, 2, 1, 3, 3), 1)), lambda r: Sample((n(r, 2, 4, 4), (None, 3)))))
op("adaptive_max_pool2d", cycle(lambda r: Sample((n(r, 1, 2, 5, 4), 2)), lambda r: Sample((n(r, 2, 3, 3), (1, 2)))))
op("adaptive_avg_pool3d", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), (2, 3, 2))),
                                lambda r: Sample((n(r, 2, 3, 4, 3), (None, 2, 1)))))
op("adaptive_max_pool3d", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), 2)),
                                lambda r: Sample((n(r, 2, 3, 4, 3), (1, 3, 2)), {"return_indices": True})))
# -- padding and resampling ----------------------------------------------------------------------
op("pad", cycle(lambda r: Sample((n(r, 2, 3), (1, 2))),
                lambda r: Sample((n(r, 1, 2, 3, 3), (1, 0, 2, 1)), {"value": 0.5}),
                lambda r: Sample((n(r, 1, 2, 5), (2, 1)), {"mode": "reflect"}),
                lambda r: Sample((n(r, 1, 2, 3, 4), (1, 2, 2, 1)), {"mode": "replicate"}),
                lambda r: Sample((n(r, 1, 2, 3, 3), (1, 1, 2, 0)), {"mode": "circular"}),
                lambda r: Sample((n(r, 2, 5), (-1, 2)))))
# the 6-element pads of 4-d / 5-d inputs, one spec of their own so that the default 4 samples cover each mode
op("pad(3d)", cycle(lambda r: Sample((n(r, 1, 2, 3, 4, 3), (1, 0, 2, 1, -1, 1)), {"value": -0.5}),
                    lambda r: Sample((n(r, 1, 2, 3, 4, 3), (1, 2, 2, 1, 1, 0)), {"mode": "reflect"}),
                    lambda r: Sample((n(r, 2, 3, 4, 3), (2, 1, 0, 1, 2, 1)), {"mode": "replicate"}),
                    lambda r: Sample((n(r, 1, 2, 3, 4, 3), (1, 1, 2, 0, 1, 2)), {"mode": "circular"})),
   fn=F.pad, torch=TF + "pad")
op("interpolate", cycle(lambda r: Sample((n(r, 1, 2, 3, 3),), {"scale_factor": 2}),
                        lambda r: Sample((n(r, 1, 2, 3, 3),), {"size": (5, 4), "mode": "bilinear",
                                                               "align_corners": False}),
                        lambda r: Sample((n(r, 1, 2, 3, 3),), {"size": (4, 5), "mode": "bilinear",
                                                               "align_corners": True}),
                        lambda r: Sample((n(r, 2, 2, 4),), {"size": 7, "mode": "linear"}),
                        lambda r: Sample((n(r, 1, 1, 5),), {"size": 3, "mode": "nearest"})))
op("interpolate(3d)", cycle(lambda r: Sample((n(r, 1, 2, 2, 3, 2),), {"scale_factor": 1.5, "mode": "trilinear"}),
                            lambda r: Sample((n(r, 1, 1, 2, 3, 2),), {"size": (3, 4, 4), "mode": "trilinear",
                                                                      "align_corners": True}),
                            lambda r: Sample((n(r, 1, 2, 2, 3, 2),), {"size": (3, 5, 3), "mode": "nearest"}),
                            lambda r: Sample((n(r, 1, 2, 4, 3, 4),), {"size": (3, 2, 3), "mode": "area"})),
   fn=F.interpolate, torch=TF + "interpolate")
op("pixel_shuffle", cycle(lambda r: Sample((n(r, 1, 8, 2, 2), 2))))
op("pixel_unshuffle", cycle(lambda r: Sample((n(r, 1, 2, 4, 4), 2))))
op("unfold", cycle(lambda r: Sample((n(r, 1, 2, 3, 4), 2), {"padding": 1}),
                   lambda r: Sample((n(r, 2, 1, 4, 4), (2, 3)), {"stride": 2})))
op("fold", cycle(lambda r: Sample((n(r, 1, 8, 12), (4, 5), 2)),
                 lambda r: Sample((n(r, 4, 4), (3, 3), 2), {"stride": 1})))
# -- normalization -------------------------------------------------------------------------------
op("layer_norm", cycle(lambda r: Sample((n(r, 2, 3, 4), (3, 4), r.uniform(0.5, 1.5, (3, 4)), n(r, 3, 4))),
                       lambda r: Sample((n(r, 3, 5), (5,)), {"eps": 1e-3}),
                       lambda r: Sample((n(r, 2, 4), (4,), r.uniform(0.5, 1.5, 4)))), tol=F32_SUMS)
op("group_norm", cycle(lambda r: Sample((n(r, 2, 4, 3), 2, r.uniform(0.5, 1.5, 4), n(r, 4))),
                       lambda r: Sample((n(r, 2, 3, 2, 2), 3), {"eps": 1e-3})), tol=F32_SUMS)
op("instance_norm", cycle(lambda r: Sample((n(r, 2, 3, 5),)),
                          lambda r: Sample((n(r, 2, 2, 3, 3), None, None, r.uniform(0.5, 1.5, 2), n(r, 2)))),
   tol=F32_SUMS)


def _bn_eval(rng, shape):
    c = shape[1]
    mean, var = 0.5 * rng.standard_normal(c), rng.uniform(0.5, 1.5, c)
    return Sample((n(rng, *shape), mean, var, rng.uniform(0.5, 1.5, c), n(rng, c)), {"training": False},
                  diff=[0, 3, 4])


op("batch_norm", cycle(lambda r: _bn_eval(r, (4, 3)), lambda r: _bn_eval(r, (2, 3, 2, 2)),
                       lambda r: Sample((n(r, 4, 2, 3), 0.5 * n(r, 2), r.uniform(0.5, 1.5, 2)),
                                        {"training": False, "eps": 1e-3}, diff=[0])), tol=F32_SUMS)
op("local_response_norm", cycle(lambda r: Sample((n(r, 2, 4, 3, 3), 3), {"alpha": 0.1, "beta": 0.6, "k": 1.5})),
   tol=F32_SUMS)
# -- embeddings ----------------------------------------------------------------------------------
op("embedding", cycle(lambda r: Sample((r.integers(0, 6, (2, 4)), n(r, 6, 3))),
                      # the padding row's zero gradient is torch's convention, not a derivative (FD differs):
                      # the Embedding(padding_idx) module spec checks it against torch; these indices avoid it
                      lambda r: Sample((r.integers(2, 5, (3,)), n(r, 5, 2)), {"padding_idx": 1}),
                      lambda r: Sample((r.integers(0, 6, ()), n(r, 6, 3)))))
op("one_hot", cycle(lambda r: Sample((r.integers(0, 4, (5,)),)),
                    lambda r: Sample((r.integers(0, 3, (2, 3)), 5))), supports_grad=False)
# -- distances -------------------------------------------------------------------------------------
op("normalize", cycle(lambda r: Sample((n(r, 3, 4),)), lambda r: Sample((n(r, 2, 3),), {"p": 1.5, "dim": 0}),
                      lambda r: Sample((n(r, 2, 3, 2),), {"dim": -1, "eps": 1e-6})))
op("cosine_similarity", cycle(lambda r: Sample((n(r, 3, 4), n(r, 3, 4))),
                              lambda r: Sample((n(r, 2, 3), n(r, 3)), {"dim": -1}),
                              lambda r: Sample((n(r, 4, 2), n(r, 4, 2)), {"dim": 0})))
op("pairwise_distance", cycle(lambda r: Sample((n(r, 3, 4), n(r, 3, 4))),
                              lambda r: Sample((n(r, 3, 4), n(r, 4)), {"p": 1.5, "keepdim": True}),
                              lambda r: Sample((n(r, 2, 3), n(r, 2, 3)), {"p": 3.0, "eps": 1e-4})))
op("cdist", cycle(lambda r: Sample((n(r, 3, 2), n(r, 4, 2))),
                  lambda r: Sample((n(r, 2, 3, 2), n(r, 2, 2, 2)), {"p": 1.5}),
                  lambda r: Sample((n(r, 3, 3), n(r, 2, 3)), {"p": 3.0})),
   # torch.cdist has no double backward (_cdist_backward): the oracle is its definition, the p-norm of the
   # pairwise differences, which torch differentiates twice (random points: no zero distances)
   torch=lambda torch: lambda a, b, p=2.0: torch.linalg.vector_norm(a.unsqueeze(-2) - b.unsqueeze(-3), ord=p, dim=-1))
op("scaled_dot_product_attention", cycle(
    lambda r: Sample((n(r, 2, 3, 4), n(r, 2, 5, 4), n(r, 2, 5, 3))),
    lambda r: Sample((n(r, 1, 2, 3, 4), n(r, 1, 2, 3, 4), n(r, 1, 2, 3, 2)), {"is_causal": True}),
    lambda r: Sample((n(r, 2, 3, 4), n(r, 2, 4, 4), n(r, 2, 4, 2), n(r, 3, 4)), {"scale": 0.3}),
    lambda r: Sample((n(r, 3, 2), n(r, 4, 2), n(r, 4, 2), r.random((3, 4)) > 0.3)), ), tol=F32_SUMS)
# -- activations (normal inputs scaled so the kinks are avoided by the samplers' margin) ---------
_SHAPES = [(2, 5), (), (3, 1, 2), (0, 3)]


def act(name, kinks=(), kwargs=(), scale=1.5, **kw):
    kwargs = list(kwargs) or [{}]

    def sampler(rng, i):
        return Sample((n(rng, *_SHAPES[i % len(_SHAPES)], scale=scale),), dict(kwargs[i % len(kwargs)]))
    op(name, sampler, avoid=kinks_at(*kinks) if kinks else None, **kw)


act("threshold", fn=lambda x, th=0.1, v=-2.0: F.threshold(x, th, v),
    torch=lambda torch: lambda x, th=0.1, v=-2.0: torch.nn.functional.threshold(x, th, v), kinks=(0.1,))
act("relu", kinks=(0.0,))
act("relu6", kinks=(0.0, 6.0), scale=4.0)
act("hardtanh", kinks=(-0.5, 0.8), kwargs=[{"min_val": -0.5, "max_val": 0.8}])
act("leaky_relu", kinks=(0.0,), kwargs=[{"negative_slope": 0.2}, {}])
act("elu", kinks=(0.0,), kwargs=[{"alpha": 0.7}, {}])
act("selu", kinks=(0.0,))
act("celu", kinks=(0.0,), kwargs=[{"alpha": 1.3}, {}])
act("gelu", kwargs=[{}, {"approximate": "tanh"}])
act("silu")
act("mish")
act("softplus", kwargs=[{}, {"beta": 2.0, "threshold": 3.0}], kinks=(1.5,))
act("softsign", kinks=(0.0,))
# torch's hardsigmoid has no double backward: the oracle is its definition clamp(x / 6 + 1/2, 0, 1) (kinks avoided)
act("hardsigmoid", kinks=(-3.0, 3.0), scale=3.0,
    torch=lambda torch: lambda x: torch.clamp(x / 6 + 0.5, 0.0, 1.0))
act("hardswish", kinks=(-3.0, 3.0), scale=3.0)
act("logsigmoid")
act("tanh", fn=F.tanh, torch="torch.tanh")
act("sigmoid", fn=F.sigmoid, torch="torch.sigmoid")
act("tanhshrink")
act("softshrink", kinks=(-0.4, 0.4), kwargs=[{"lambd": 0.4}])
act("hardshrink", kinks=(-0.4, 0.4), kwargs=[{"lambd": 0.4}])
op("prelu", cycle(lambda r: Sample((n(r, 2, 3, 4), r.uniform(0.1, 0.4, 3))),
                  lambda r: Sample((n(r, 2, 5), r.uniform(0.1, 0.4, 1)))), avoid=kinks_at(0.0))
op("glu", cycle(lambda r: Sample((n(r, 2, 6),)), lambda r: Sample((n(r, 4, 3),), {"dim": 0})))
for _name in ("softmax", "log_softmax", "softmin"):
    op(_name, cycle(lambda r: Sample((n(r, 2, 5),), {"dim": 1}), lambda r: Sample((n(r, 3, 2, 2),), {"dim": 0}),
                    lambda r: Sample((n(r, 4),), {"dim": -1})))
