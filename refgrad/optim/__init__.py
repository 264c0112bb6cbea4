"""Matches `torch.optim`: the Optimizer base and torch's optimizers, one file each.

Naming notes for readers coming from the seed projects: their "GD" is plain :class:`SGD` fed full
batches (momentum 0), and their "WAdam" is :class:`AdamW` (Adam with decoupled weight decay).

refgrad runs torch's single-tensor algorithm for every optimizer; ``foreach`` and ``fused`` are
accepted and stored in the param groups (and so in state_dicts) but select no other kernel.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler"]
