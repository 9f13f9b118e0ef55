"""What a fit produces, as kinds that know how to handle themselves: learned ``"pixels"``, kept
rows of the real data (``"selection"``) and a conditional ``"generator"``.

Each kind turns a method's :class:`~condensekit.strategies.base.CondensedResult` into the
condenser's fitted attributes, reports its size, draws ``n`` samples per class from a
:class:`~condensekit.sets.CondensedSet` (fitted condensers hand theirs over with
``to_condensed_set``), and writes and reads its own arrays of a saved file. The condenser, io and
the evaluator ask the kind (:data:`KINDS`, named by the method's ``result_kind``) and never
branch on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ._registry import Registry
from ._torch_utils import seed_from_random_state
from .models.generators import GENERATORS, build_generator, count_parameters
from .selection.base import ranked_head
from .strategies.generator_set import codes_per_class, draw, sample_generator

if TYPE_CHECKING:  # the set asks its kind
    from .sets import CondensedSet
    from .strategies.base import CondensedResult


#: Prefix of the generator's weights among a saved file's arrays.
WEIGHT_PREFIX = "generator/"


class ResultKind:
    """Base of the kinds: learned pixels, which cannot draw more samples."""

    name: ClassVar[str] = "pixels"
    #: Whether :meth:`sample` can give other samples than the set itself.
    can_sample: ClassVar[bool] = False

    def fitted_attributes(
        self, result: CondensedResult, X_source: Any, layout: Any, normalizer: Any, ipc: int
    ) -> dict[str, Any]:
        """The kind's fitted attributes (``X_syn_`` and its own) and the set's class indices."""
        return {"X_syn_": layout.to_user(normalizer.denormalize(result.X))}

    def stored_values(self, state: dict[str, Any], n_values: int) -> int:
        """Numbers the condensed artefact holds."""
        return len(state["X_syn_"]) * n_values

    def sample(
        self, cset: CondensedSet, n_per_class: int | None, random_state: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_per_class`` samples of every class of ``cset``."""
        raise AttributeError(
            f"This set was made by method={cset.method!r}; only a generative set or a "
            "selection can sample."
        )

    def write(self, fitted: Any, metadata: dict, arrays: dict) -> None:
        """Add the kind's own arrays and metadata of a fitted condenser to a file's contents."""

    def read(self, arrays: dict, metadata: dict) -> dict[str, Any]:
        """The kind's own fields of a :class:`~condensekit.sets.CondensedSet` from a file."""
        return {}


class Selection(ResultKind):
    """Rows of the real data, kept in the order the method ranks them."""

    name: ClassVar[str] = "selection"
    can_sample: ClassVar[bool] = True

    def fitted_attributes(self, result, X_source, layout, normalizer, ipc):
        rows = result.sample_indices.cpu().numpy()
        kept = X_source[torch.as_tensor(rows)] if torch.is_tensor(X_source) else X_source[rows]
        return {
            "sample_indices_": rows,
            "scores_": result.scores.cpu().numpy(),
            "helper_cost_": result.helper_cost,
            "X_syn_": np.asarray(kept.cpu().numpy() if torch.is_tensor(kept) else kept),
        }

    def sample(self, cset, n_per_class, random_state):
        """The first ``n_per_class`` kept rows of every class (at most its budget)."""
        return ranked_head(cset.X, cset.y, n_per_class, random_state, cset.method)

    def write(self, fitted, metadata, arrays):
        arrays["sample_indices"] = np.asarray(fitted.sample_indices_, dtype=np.int64)

    def read(self, arrays, metadata):
        return {"sample_indices": arrays.get("sample_indices")}


class Generator(ResultKind):
    """A conditional generator and its latent codes; the set is the first ``ipc`` codes drawn."""

    name: ClassVar[str] = "generator"
    can_sample: ClassVar[bool] = True

    def fitted_attributes(self, result, X_source, layout, normalizer, ipc):
        net = result.generator.to("cpu")
        codes = result.latents.detach().to("cpu")
        z, y_idx = codes_per_class(codes, int(ipc), None)  # the set itself
        result.X, result.y = draw(net, z, y_idx), y_idx
        return {
            "generator_": net,
            "latent_codes_": codes,
            "X_syn_": layout.to_user(normalizer.denormalize(result.X)),
        }

    def stored_values(self, state, n_values):
        return count_parameters(state["generator_"])

    def write(self, fitted, metadata, arrays):
        """The generator's build spec, its weights and the fitted codes."""
        net = fitted.generator_
        metadata["generator"] = {
            **net.build_spec,
            "extra_codes_seed": int(fitted.extra_codes_seed_),
            "weights": sorted(net.state_dict()),
        }
        arrays["latent_codes"] = fitted.latent_codes_.detach().cpu().numpy()
        for name, tensor in net.state_dict().items():
            arrays[WEIGHT_PREFIX + name] = tensor.detach().cpu().numpy()

    def read(self, arrays, metadata):
        """The generator rebuilt from the registry (no code from the file runs), its weights
        checked and loaded, and the codes; ValueError (and friends) when they do not fit."""
        spec = metadata["generator"]
        name = spec["name"]
        if name not in GENERATORS:
            raise ValueError(
                f"the generator {name!r} is not registered here (known: {GENERATORS.names()})"
            )
        out_shape, n_classes = tuple(int(v) for v in spec["out_shape"]), int(spec["n_classes"])
        kwargs = dict(spec["kwargs"])
        # the architecture's shapes, on the meta device (nothing allocated), against the stored
        # weights before the generator is built: a spec that asks for a huge network whose
        # weights are not in the file is refused at once
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            expected = GENERATORS.get(name)(out_shape, n_classes, **kwargs).state_dict()
        if sorted(spec["weights"]) != sorted(expected):
            raise ValueError("its weight names do not match the generator's")
        for key, value in expected.items():
            stored = arrays[WEIGHT_PREFIX + key]
            if stored.shape != tuple(value.shape) or stored.dtype.kind != "f":
                raise ValueError(
                    f"weight {key!r} is {stored.dtype} of shape {stored.shape}; floats of "
                    f"shape {tuple(value.shape)} expected"
                )
        net = build_generator(name, out_shape, n_classes, generator=torch.Generator(), **kwargs)
        state = net.state_dict()
        for key in state:
            stored = arrays[WEIGHT_PREFIX + key]
            state[key] = torch.from_numpy(np.ascontiguousarray(stored, dtype=np.float32))
        net.load_state_dict(state)
        codes = np.ascontiguousarray(arrays["latent_codes"], dtype=np.float32)
        n_classes, ipc = int(spec["n_classes"]), int(metadata["ipc"])
        if (
            codes.ndim != 3
            or codes.shape[::2] != (n_classes, net.latent_dim)
            or codes.shape[1] < ipc
        ):
            raise ValueError(
                f"latent codes of shape {codes.shape}, ({n_classes}, >= {ipc}, {net.latent_dim}) "
                "expected"
            )
        int(spec["extra_codes_seed"])
        return {"generator": net.requires_grad_(False).eval(), "latent_codes": codes}

    def sample(self, cset, n_per_class, random_state):
        """Drawn from the generator: the set's codes first, or fresh codes from a seed."""
        seed = None if random_state is None else seed_from_random_state(random_state)
        X_norm, y_idx = sample_generator(
            cset.generator,
            torch.as_tensor(cset.latent_codes),
            n_per_class,
            cset.ipc,
            seed,
            int(cset.metadata["generator"]["extra_codes_seed"]),
        )
        X = cset.input_layout.to_user(cset.normalizer.denormalize(X_norm))
        return X, cset.classes[y_idx.numpy()]


#: The kinds by name (a method names its kind as ``result_kind``).
KINDS: Registry[ResultKind] = Registry("result kind")
for _kind in (ResultKind(), Selection(), Generator()):
    KINDS.register(_kind.name, _kind)
