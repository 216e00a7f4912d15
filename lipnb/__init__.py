"""lipnb — two-layer networks and MLPs, learning-rate schedules, gradient descent and Lipschitz certificates.

The helper package of the lipnb-book, which reproduces *Guiding Two-Layer Neural Network Lipschitzness
via Gradient Descent Learning Rate Constraints* (Sung, Kratsios, Forman; arXiv 2502.03792; revised in 2026
by Sung, Khalil, Forman, Samu and Kratsios as *Step by Step: Adaptive Gradient Descent for Training
L-Lipschitz Neural Networks*). Data flows one way:
data → nets/losses/schedules → training → certificates/theory → plots/widgets → chapters.

The verbs: :func:`train` (any lipnb network), :func:`train_to_target` (the adaptive rule for a target
Lipschitz bound), :func:`certify` (any lipnb network or ``torch.nn.Sequential``). The subpackages:
:mod:`lipnb.certificates` (one module per certification method), :mod:`lipnb.theory` (one module per
chapter's results), :mod:`lipnb.training`, :mod:`lipnb.torch` (the bridge to ordinary PyTorch loops).
"""

from . import certificates, data, notebook, plots, schedules, sweep, theory, training
from .activations import ACTIVATIONS, Activation, activation
from .certificates import Certificate, certify
from .errors import BoundViolated, LipnbError, TrainingDiverged
from .losses import LOSSES, Loss, huber, loss, mse
from .mlp import MLP
from .nets import GROUPS, TwoLayerNet
from .training import History, concat_histories, train, train_to_target

__version__ = "0.2.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "activation",
    "BoundViolated",
    "LipnbError",
    "TrainingDiverged",
    "LOSSES",
    "Loss",
    "loss",
    "mse",
    "huber",
    "GROUPS",
    "TwoLayerNet",
    "MLP",
    "History",
    "train",
    "train_to_target",
    "concat_histories",
    "certify",
    "Certificate",
    "certificates",
    "data",
    "notebook",
    "plots",
    "schedules",
    "sweep",
    "theory",
    "training",
]
