"""condensekit: dataset condensation with a scikit-learn interface.

>>> from condensekit import DatasetCondenser, CondensedEvaluator
"""

from ._version import __version__
from .augment import SiameseAugment
from .condenser import DatasetCondenser
from .evaluation import CondensedEvaluator, EvaluationResult
from .io import CondensedFileError, load_condensed, save_condensed
from .methods import list_methods, register_method
from .models import list_models
from .selectors import (
    SELECTORS,
    BaseSelector,
    EL2NSelector,
    ForgettingSelector,
    GraNdSelector,
    HerdingSelector,
    KCenterSelector,
    RandomSelector,
)
from .sets import CondensedSet

__all__ = [
    "SELECTORS",
    "BaseSelector",
    "CondensedEvaluator",
    "CondensedFileError",
    "CondensedSet",
    "DatasetCondenser",
    "EL2NSelector",
    "EvaluationResult",
    "ForgettingSelector",
    "GraNdSelector",
    "HerdingSelector",
    "KCenterSelector",
    "RandomSelector",
    "SiameseAugment",
    "__version__",
    "list_methods",
    "list_models",
    "load_condensed",
    "register_method",
    "save_condensed",
]
