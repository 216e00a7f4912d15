"""The book's results as functions: each bound computed from its inputs, and its numerical check.

One module per chapter (the ``{prf:ref}`` labels are the book's):

=========================  =================================================================================
module                     results
=========================  =================================================================================
:mod:`.initialization`     chapter *Initialization*: ``prop-init`` — :func:`init_operator_bounds`,
                           :func:`init_lipschitz_bound`, :func:`check_init`
:mod:`.path_length`        chapter *Learning-rate constraints*: ``lem-path-length`` — :func:`path_length_bound`,
                           :func:`check_path_length`
:mod:`.decay`              ``def-decay-constraint``, ``thm-lr-constraint``, ``cor-adaptive`` —
                           :func:`check_decay_constraint`, :func:`constraint_holds`, :func:`lr_constraint_bound`,
                           :func:`check_lr_constraint`, :func:`schedule_rate`, :func:`gamma_for_target`,
                           :func:`check_target`
:mod:`.apriori`            ``cor-huber-apriori``, ``cor-mse-apriori`` — :func:`huber_gradient_bounds`,
                           :func:`check_huber_gradients`, :func:`c0`, :func:`apriori_lipschitz_bound`,
                           :func:`check_huber_apriori`, :func:`check_mse_apriori`
:mod:`.convergence`        chapter *Convergence*: ``lem-descent``, ``thm-convergence`` —
                           :func:`check_sufficient_decrease`, :func:`min_gradient_bound`,
                           :func:`check_convergence`, :func:`smoothness_lower_estimate`
:mod:`.generalization`     chapter *Generalization*: ``lem-cover``, ``thm-generalization``, ``cor-sublinear`` —
                           :func:`covering_log_number`, :func:`generalization_bound`,
                           :func:`data_dependent_generalization_bound`, :func:`parameter_lipschitz`,
                           :func:`parameter_counting_bound`, :func:`check_generalization`,
                           :func:`sublinear_exponent`
:mod:`.check`              the result type :class:`Check` and the tolerance ``RTOL``, ``ATOL``
=========================  =================================================================================

Every ``check_…`` takes a training :class:`~lipnb.History` (and the network or data where needed), raises
:class:`~lipnb.errors.BoundViolated` naming the step and both sides when the inequality fails, and
otherwise returns a :class:`Check` with the margins. Training to a target (``train_to_target``) lives with
training: :func:`lipnb.train_to_target`.
"""

from ..training.target import gamma_for_target, target_gamma_mlp
from .apriori import (
    apriori_lipschitz_bound,
    c0,
    check_huber_apriori,
    check_huber_gradients,
    check_mse_apriori,
    huber_gradient_bounds,
)
from .check import ATOL, RTOL, Check
from .convergence import check_convergence, check_sufficient_decrease, min_gradient_bound, smoothness_lower_estimate
from .decay import (
    check_decay_constraint,
    check_lr_constraint,
    check_target,
    constraint_holds,
    lr_constraint_bound,
    schedule_rate,
)
from .generalization import (
    check_generalization,
    covering_log_number,
    data_dependent_generalization_bound,
    generalization_bound,
    parameter_counting_bound,
    parameter_lipschitz,
    sublinear_exponent,
)
from .initialization import check_init, init_lipschitz_bound, init_operator_bounds
from .path_length import check_path_length, path_length_bound

__all__ = [
    "RTOL",
    "ATOL",
    "Check",
    "init_operator_bounds",
    "init_lipschitz_bound",
    "check_init",
    "path_length_bound",
    "check_path_length",
    "constraint_holds",
    "check_decay_constraint",
    "lr_constraint_bound",
    "check_lr_constraint",
    "schedule_rate",
    "gamma_for_target",
    "target_gamma_mlp",
    "check_target",
    "huber_gradient_bounds",
    "check_huber_gradients",
    "c0",
    "apriori_lipschitz_bound",
    "check_huber_apriori",
    "check_mse_apriori",
    "check_sufficient_decrease",
    "min_gradient_bound",
    "check_convergence",
    "smoothness_lower_estimate",
    "covering_log_number",
    "generalization_bound",
    "data_dependent_generalization_bound",
    "parameter_lipschitz",
    "parameter_counting_bound",
    "check_generalization",
    "sublinear_exponent",
]
