"""Matches `torch.optim.Rprop` (and the functional `torch.optim.rprop.rprop`)."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import full_like, zeros_like
from ..ops.elementwise import where
from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_lr,
    _closure_loss,
    _scalar_state,
    _to_scalar,
    _use_grad_for_differentiable,
)

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    """Matches `torch.optim.Rprop` (resilient backprop): per-element step sizes grown by ``etas[1]`` while the
    gradient keeps its sign and shrunk by ``etas[0]`` (with that step skipped) when it flips, clamped to
    ``step_sizes``. State: ``step``, ``prev``, ``step_size``."""

    def __init__(self, params, lr: float | Tensor = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_groups({"foreach": None, "maximize": False, "differentiable": False, "capturable": False})

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss with grad enabled."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, prevs, step_sizes, state_steps = self._collect(
                group, lambda p, group: {"step": _scalar_state(0.0, p, group["capturable"]), "prev": zeros_like(p),
                                  "step_size": full_like(p.grad, _to_scalar(group["lr"]))},
                ("prev", "step_size", "step"))
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            rprop(params, grads, prevs, step_sizes, state_steps, step_size_min=step_size_min,
                  step_size_max=step_size_max, etaminus=etaminus, etaplus=etaplus, maximize=group["maximize"],
                  differentiable=group["differentiable"], capturable=group["capturable"])
        return loss


def rprop(params, grads, prevs, step_sizes, state_steps, *, step_size_min: float, step_size_max: float,
          etaminus: float, etaplus: float, maximize: bool = False, capturable: bool = False,
          differentiable: bool = False) -> None:
    """Matches torch's single-tensor `rprop`."""
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        prev, step_size, step = prevs[i], step_sizes[i], state_steps[i]
        if capturable:
            _check_capturable(param, step)
        step += 1
        sign = grad.mul(prev.clone() if differentiable else prev).sign()
        if capturable:
            sign.copy_(where(sign.gt(0), etaplus, sign))
            sign.copy_(where(sign.lt(0), etaminus, sign))
            sign.copy_(where(sign.eq(0), 1, sign))
        else:
            sign[sign.gt(0)] = etaplus
            sign[sign.lt(0)] = etaminus
            sign[sign.eq(0)] = 1
        step_size.mul_(sign).clamp_(step_size_min, step_size_max)
        # after a sign flip the step is skipped and the gradient forgotten (so the next step grows again)
        grad = grad.clone()
        if capturable:
            grad.copy_(where(sign.eq(etaminus), 0, grad))
        else:
            grad[sign.eq(etaminus)] = 0
        param.addcmul_(grad.sign(), step_size, value=-1)
        prev.copy_(grad)
