"""Matches `torch.optim.Adagrad` (and the functional `torch.optim.adagrad.adagrad`)."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import full_like
from .optimizer import (
    Optimizer,
    _check_lr,
    _closure_loss,
    _get_value,
    _scalar_state,
    _to_scalar,
    _use_grad_for_differentiable,
)

__all__ = ["Adagrad", "adagrad"]


class Adagrad(Optimizer):
    """Matches `torch.optim.Adagrad`: lr_decay, weight_decay, initial_accumulator_value, eps, maximize.

    As in torch, the state (``step`` and ``sum``) is created eagerly in the constructor for every
    parameter. refgrad has no sparse tensors, so torch's sparse-gradient path does not exist here;
    ``foreach`` and ``fused`` are accepted and stored (the single-tensor loop runs).
    """

    def __init__(self, params, lr: float | Tensor = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _scalar_state(0.0, p, bool(group["fused"]))
                state["sum"] = full_like(p, initial_accumulator_value)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_groups({"foreach": None, "maximize": False, "differentiable": False, "fused": None},
                             on_param_device=lambda g: bool(g["fused"]))

    def share_memory(self) -> None:
        """Matches `torch.optim.Adagrad.share_memory`; refgrad arrays need no sharing step, so this is a no-op
        kept for API compatibility."""

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss with grad enabled."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            # (state is created in __init__; init covers a parameter added later by add_param_group)
            params, grads, state_sums, state_steps = self._collect(
                group, lambda p, group: {"step": _scalar_state(0.0, p, bool(group["fused"])),
                                  "sum": full_like(p, self.defaults["initial_accumulator_value"])}, ("sum", "step"))
            adagrad(params, grads, state_sums, state_steps, lr=group["lr"], weight_decay=group["weight_decay"],
                    lr_decay=group["lr_decay"], eps=group["eps"], maximize=group["maximize"],
                    differentiable=group["differentiable"])
        return loss


def adagrad(params, grads, state_sums, state_steps, *, lr, weight_decay: float, lr_decay: float, eps: float,
            maximize: bool = False, differentiable: bool = False) -> None:
    """Matches torch's single-tensor `adagrad` (dense gradients)."""
    lr = _to_scalar(lr)
    for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
        step_t += 1
        step = _get_value(step_t)
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        clr = _get_value(lr) / (1 + (step - 1) * lr_decay)
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt() + eps if differentiable else state_sum.sqrt().add_(eps)
        param.addcdiv_(grad, std, value=-clr)
