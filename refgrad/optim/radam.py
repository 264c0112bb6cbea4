"""Matches `torch.optim.RAdam` (and the functional `torch.optim.radam.radam`)."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import zeros_like
from ..ops.elementwise import where
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

__all__ = ["RAdam", "radam"]


class RAdam(Optimizer):
    """Matches `torch.optim.RAdam` (rectified Adam): plain momentum SGD until the variance is tractable
    (rho_t > 5), then the rectified adaptive step. ``decoupled_weight_decay=True`` gives RAdamW."""

    def __init__(self, params, lr: float | Tensor = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_groups({"foreach": None, "maximize": False, "differentiable": False,
                              "decoupled_weight_decay": False, "capturable": False})

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the loss with grad enabled."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, state_steps = self._collect(
                group, lambda p, group: {"step": _scalar_state(0.0, p, group["capturable"]), "exp_avg": zeros_like(p),
                                  "exp_avg_sq": zeros_like(p)}, ("exp_avg", "exp_avg_sq", "step"))
            beta1, beta2 = group["betas"]
            radam(params, grads, exp_avgs, exp_avg_sqs, state_steps, beta1=beta1, beta2=beta2, lr=group["lr"],
                  weight_decay=group["weight_decay"], eps=group["eps"],
                  decoupled_weight_decay=group["decoupled_weight_decay"], differentiable=group["differentiable"],
                  maximize=group["maximize"], capturable=group["capturable"])
        return loss


def radam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1: float, beta2: float, lr,
          weight_decay: float, eps: float, decoupled_weight_decay: bool = False, differentiable: bool = False,
          maximize: bool = False, capturable: bool = False) -> None:
    """Matches torch's single-tensor `radam`."""
    lr = _to_scalar(lr)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
        if capturable:
            _check_capturable(param, step_t)
        step_t += 1
        step = step_t if capturable else _get_value(step_t)
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        # length of the approximated simple moving average (RAdam paper, eq. 5-6)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if capturable:
            update = where(rho_t > 5.0, _rect(rho_t, rho_inf) * _adaptive_lr(exp_avg_sq, bias_correction2, eps,
                                                                            differentiable), 1.0)
            param.add_(bias_corrected_exp_avg * lr * update, alpha=-1.0)
        elif rho_t > 5.0:
            param.add_(bias_corrected_exp_avg * _get_value(lr) * _adaptive_lr(exp_avg_sq, bias_correction2, eps,
                                                                                differentiable)
                       * _rect(rho_t, rho_inf), alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * _get_value(lr), alpha=-1.0)


def _rect(rho_t, rho_inf):
    # the variance rectification term; only evaluated for rho_t > 5 (below 4 the root is not real)
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def _adaptive_lr(exp_avg_sq, bias_correction2, eps, differentiable):
    exp_avg_sq_sqrt = exp_avg_sq.sqrt()
    exp_avg_sq_sqrt = exp_avg_sq_sqrt.add(eps) if differentiable else exp_avg_sq_sqrt.add_(eps)
    return (bias_correction2 ** 0.5) / exp_avg_sq_sqrt
