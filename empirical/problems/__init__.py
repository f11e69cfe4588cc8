"""Problems with known constants (docs/theory.md §1.3 Assumptions A1-A3) for the simulator, one
family per module.

* :mod:`~empirical.problems.protocol`: :class:`Problem`, the interface the engine needs, and
  :class:`ProblemBase`, the defaults of its declared optional hooks (``fused_step``, ``weights``, ...).
* :mod:`~empirical.problems.heterogeneous`: :class:`HeterogeneousNonconvex`, certified constants.
* :mod:`~empirical.problems.function`: :func:`from_gradient_fn` (:class:`FunctionProblem`),
  your own objective from plain functions.
* :mod:`~empirical.problems.logistic`: :class:`FiniteSumLogistic`, minibatch logistic regression.
* :mod:`~empirical.problems.digits`: :class:`DigitsMLP`, a small network on scikit-learn's digits.
* :mod:`~empirical.problems.witness`: :class:`KinkProblem` and :class:`QuadraticProblem`,
  exact constants, built so that one term of Theorem 2 bites.
* :mod:`~empirical.problems.sampled_constants`: constants estimated by sampling.
* :mod:`~empirical.problems.phi`: the penalty ``phi(u) = u^2/(1 + u^2)`` two families share.

Problems know nothing of hierarchies beyond the labels passed to ``constants``.
"""

from empirical.problems.digits import DigitsMLP, digits_partitioned, digits_train_labels
from empirical.problems.function import FunctionProblem, from_gradient_fn
from empirical.problems.heterogeneous import HeterogeneousNonconvex
from empirical.problems.logistic import FiniteSumLogistic
from empirical.problems.phi import PHI_PRIME_MAX, PHI_SECOND_MAX, PHI_SECOND_MIN
from empirical.problems.protocol import Problem, ProblemBase
from empirical.problems.sampled_constants import sampled_constants, sampled_divergences, sampled_sigma
from empirical.problems.witness import KinkProblem, QuadraticProblem

__all__ = [
    "Problem",
    "ProblemBase",
    "HeterogeneousNonconvex",
    "FunctionProblem",
    "from_gradient_fn",
    "FiniteSumLogistic",
    "DigitsMLP",
    "digits_partitioned",
    "digits_train_labels",
    "KinkProblem",
    "QuadraticProblem",
    "sampled_constants",
    "sampled_divergences",
    "sampled_sigma",
    "PHI_SECOND_MIN",
    "PHI_SECOND_MAX",
    "PHI_PRIME_MAX",
]
