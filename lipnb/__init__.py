"""lipnb — two-layer networks, learning-rate schedules, full-batch GD and Lipschitz certificates.

The helper package of the lipnb-book, which reproduces *Guiding Two-Layer Neural Network Lipschitzness
via Gradient Descent Learning Rate Constraints* (Sung, Kratsios, Forman; arXiv 2502.03792).
Data flows one way: data → nets/losses/schedules → train → certify/theory → plots/widgets.
"""

from . import certify, data, notebook, plots, schedules, sweep, theory
from .certify import Certificate
from .activations import ACTIVATIONS, Activation, activation
from .errors import BoundViolated, LipnbError, TrainingDiverged
from .losses import LOSSES, Loss, huber, loss, mse
from .mlp import MLP
from .nets import GROUPS, TwoLayerNet
from .train import History, train

__version__ = "0.1.0"

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
    "certify",
    "Certificate",
    "data",
    "notebook",
    "plots",
    "schedules",
    "sweep",
    "theory",
]
