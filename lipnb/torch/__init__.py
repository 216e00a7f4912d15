"""lipnb in any PyTorch training loop.

* :func:`from_module` — an ``nn.Sequential(Linear, σ, …, Linear)`` as a lipnb
  :class:`~lipnb.nets.TwoLayerNet` or :class:`~lipnb.mlp.MLP`, to certify or analyse with lipnb;
* :class:`EventualExponential`, :class:`EventualPolynomial`, :class:`FromSchedule` — lipnb's schedules as
  ``torch.optim.lr_scheduler`` schedulers (chainable, ``state_dict`` round trip, ``SequentialLR`` and
  ``ChainedScheduler`` compatible);
* :class:`LipschitzBudget` — the adaptive rule for any optimizer: after step τ every
  ``optimizer.step()`` is scaled back where needed so that the certified bound
  L_σ^{D−1} Π_l (‖W_l^τ‖_op + P_l) stays ≤ a target Lipschitz constant; :class:`BudgetCertificate`
  is what it certifies.
"""

from .budget import BudgetCertificate, LipschitzBudget
from .convert import SUPPORTED_ACTIVATIONS, from_module, parse_sequential
from .schedulers import EventualExponential, EventualPolynomial, FromSchedule, LipnbScheduler

__all__ = [
    "from_module",
    "parse_sequential",
    "SUPPORTED_ACTIVATIONS",
    "LipnbScheduler",
    "EventualExponential",
    "EventualPolynomial",
    "FromSchedule",
    "LipschitzBudget",
    "BudgetCertificate",
]
