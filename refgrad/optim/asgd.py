"""Matches `torch.optim.ASGD` (and the functional `torch.optim.asgd.asgd`)."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import as_tensor, ones_like, zeros_like
from ..ops.elementwise import maximum
from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_lr,
    _closure_loss,
    _get_value,
    _scalar_state,
    _to_scalar,
    _use_grad_for_differentiable,
)

__all__ = ["ASGD", "asgd"]


class ASGD(Optimizer):
    """Matches `torch.optim.ASGD` (averaged SGD). State: ``step``, ``eta``, ``mu`` (0-d tensors on the param's
    device, as in torch) and the running average ``ax``."""

    def __init__(self, params, lr: float | Tensor = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_groups({"foreach": None, "maximize": False, "differentiable": False, "capturable": False},
                             scalar_keys=("step", "eta", "mu"), on_param_device=lambda g: True)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss with grad enabled."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, mus, axs, etas, state_steps = self._collect(
                group, lambda p, group: {"step": _scalar_state(0.0, p, True),
                                  "eta": _scalar_state(_get_value(_to_scalar(group["lr"])), p, True),
                                  "mu": _scalar_state(1.0, p, True), "ax": zeros_like(p)},
                ("mu", "ax", "eta", "step"))
            asgd(params, grads, axs, mus, etas, state_steps, lambd=group["lambd"], lr=group["lr"], t0=group["t0"],
                 alpha=group["alpha"], weight_decay=group["weight_decay"], maximize=group["maximize"],
                 differentiable=group["differentiable"], capturable=group["capturable"])
        return loss


def asgd(params, grads, axs, mus, etas, state_steps, *, lambd: float, lr, t0: float, alpha: float,
         weight_decay: float, maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
    """Matches torch's single-tensor `asgd`."""
    lr = _to_scalar(lr)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        mu, ax, eta, step_t = mus[i], axs[i], etas[i], state_steps[i]
        if capturable:
            _check_capturable(param, mu, eta, step_t, what="params, mus, etas, and state_steps")
        step_t += 1
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if capturable:
            param.mul_(1 - lambd * eta)
            param.addcmul_(grad, eta, value=-1)
        else:
            eta_value = _get_value(eta)
            param.mul_(1 - lambd * eta_value)  # decay term
            param.add_(grad, alpha=-eta_value)
        # running average of the iterates, a plain copy until averaging starts at step t0
        if capturable or mu.item() != 1:
            ax.add_(param.sub(ax).mul_(mu))
        else:
            ax.copy_(param)
        if capturable:
            eta.copy_(lr / ((1 + lambd * lr * step_t) ** alpha))
            mu.copy_(1 / maximum(step_t - t0, ones_like(step_t)))
        else:
            step = _get_value(step_t)
            lr_value = _get_value(lr)
            # torch goes through as_tensor (default dtype) before copying into the state tensor
            eta.copy_(as_tensor(lr_value / ((1 + lambd * lr_value * step) ** alpha)))
            mu.copy_(as_tensor(1 / max(1, step - t0)))
