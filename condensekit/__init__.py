"""condensekit: dataset condensation with a scikit-learn interface.

>>> from condensekit import DatasetCondenser, CondensedEvaluator
"""

from .augment import SiameseAugment
from .condenser import DatasetCondenser
from .evaluation import CondensedEvaluator, EvaluationResult
from .methods import list_methods, register_method
from .models import list_models

__version__ = "0.1.0"

__all__ = [
    "CondensedEvaluator",
    "DatasetCondenser",
    "EvaluationResult",
    "SiameseAugment",
    "__version__",
    "list_methods",
    "list_models",
    "register_method",
]
