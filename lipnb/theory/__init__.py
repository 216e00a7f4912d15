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
                           :func:`check_lr_constraint`, :func:`schedule_rate`, :func:`constraint_region`,
                           :func:`gamma_for_target`, :func:`check_target`; a bound fixed, then verified on later
                           steps: :func:`predicted_bound`, :func:`continue_run`, :func:`check_forward_bound`,
                           :func:`continue_and_verify`
:mod:`.apriori`            ``cor-huber-apriori``, ``cor-mse-apriori`` — :func:`huber_gradient_bounds`,
                           :func:`check_huber_gradients`, :func:`c0`, :func:`apriori_lipschitz_bound`,
                           :func:`check_huber_apriori`, :func:`check_mse_apriori`
:mod:`.convergence`        chapter *Convergence*: ``lem-descent``, ``thm-convergence`` —
                           :func:`check_sufficient_decrease`, :func:`min_gradient_bound`,
                           :func:`check_convergence`, :func:`smoothness_lower_estimate`, :func:`hessian_norms`,
                           :func:`check_step_size`, :func:`smoothness_bound`, :func:`stationarity_steps`,
                           :func:`quadratic_limit`
:mod:`.generalization`     chapter *Generalization*: ``lem-cover``, ``thm-generalization``, ``cor-sublinear`` —
                           :func:`covering_log_number`, :func:`generalization_bound`,
                           :func:`data_dependent_generalization_bound`, :func:`parameter_lipschitz`,
                           :func:`parameter_counting_bound`, :func:`check_generalization`,
                           :func:`sublinear_exponent`, :func:`hoeffding_test_certificate`,
                           :func:`nonvacuous_sample_size`, :func:`adaptive_prior_target`; the norm-based
                           comparison bound: :func:`path_norm`, :func:`path_norm_bound`,
                           :func:`data_dependent_path_norm_bound`
:mod:`.check`              the result type :class:`Check` and the tolerance ``RTOL``, ``ATOL``
=========================  =================================================================================

Every ``check_…`` takes a training :class:`~lipnb.History` (and the network or data where needed), raises
:class:`~lipnb.errors.BoundViolated` naming the step and both sides when the inequality fails, and
otherwise returns a :class:`Check` with the margins and its ``kind``: ``"prediction"`` when the bound was
fixed before the steps it covers (so the check could fail), ``"consistency"`` when it holds by
construction of what was measured (each function's docstring says which, and why). Training to a target
(``train_to_target``) lives with training: :func:`lipnb.train_to_target`.
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
from .convergence import (
    check_convergence,
    check_step_size,
    check_sufficient_decrease,
    hessian_norms,
    min_gradient_bound,
    quadratic_limit,
    smoothness_bound,
    smoothness_lower_estimate,
    stationarity_steps,
)
from .decay import (
    check_decay_constraint,
    check_forward_bound,
    check_lr_constraint,
    check_target,
    constraint_holds,
    constraint_region,
    continue_and_verify,
    continue_run,
    lr_constraint_bound,
    predicted_bound,
    schedule_rate,
)
from .generalization import (
    adaptive_prior_target,
    check_generalization,
    covering_log_number,
    data_dependent_generalization_bound,
    data_dependent_path_norm_bound,
    generalization_bound,
    hoeffding_test_certificate,
    nonvacuous_sample_size,
    parameter_counting_bound,
    parameter_lipschitz,
    path_norm,
    path_norm_bound,
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
    "constraint_region",
    "predicted_bound",
    "continue_run",
    "check_forward_bound",
    "continue_and_verify",
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
    "hessian_norms",
    "check_step_size",
    "smoothness_bound",
    "stationarity_steps",
    "quadratic_limit",
    "covering_log_number",
    "generalization_bound",
    "data_dependent_generalization_bound",
    "parameter_lipschitz",
    "parameter_counting_bound",
    "check_generalization",
    "sublinear_exponent",
    "hoeffding_test_certificate",
    "nonvacuous_sample_size",
    "adaptive_prior_target",
    "path_norm",
    "path_norm_bound",
    "data_dependent_path_norm_bound",
]
