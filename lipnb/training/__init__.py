"""Training: one gradient-descent loop for every network type, its record, and training to a target.

========================  ====================================================================
module                    holds
========================  ====================================================================
:mod:`.loop`              :func:`train` and the :class:`~.loop.Stepper` interface it drives
:mod:`.two_layer`         the two-layer stepper (fused [A | a] storage, analytic gradients)
:mod:`.mlp`               the MLP stepper (backpropagation)
:mod:`.history`           :class:`History`, :func:`concat_histories`
:mod:`.plan`              schedules → tables of learning rates and step-length caps
:mod:`.divergence`        the check that stops a diverging run at its first non-finite step
:mod:`.target`            :func:`train_to_target` (the adaptive rule for a target Lipschitz bound)
========================  ====================================================================
"""

from .history import NORM_KEYS, History, concat_histories
from .loop import train
from .target import gamma_for_target, target_gamma_mlp, train_to_target

__all__ = [
    "History",
    "NORM_KEYS",
    "concat_histories",
    "train",
    "train_to_target",
    "gamma_for_target",
    "target_gamma_mlp",
]
