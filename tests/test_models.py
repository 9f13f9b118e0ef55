"""Networks: sizes, interface, generator-driven initialisation, registry."""

import numpy as np
import pytest
import torch

from condensekit._registry import Registry
from condensekit.models import MODELS, build_model, list_models


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "shape, embed_dim, depth",
    [
        ((1, 8, 8), 128 * 2 * 2, 2),  # "auto" keeps the last normalised map at 4x4
        ((1, 16, 16), 128 * 2 * 2, 3),
        ((1, 28, 28), 128 * 4 * 4, 3),
        ((3, 32, 32), 128 * 4 * 4, 3),
    ],
)
def test_convnet_sizes(shape, embed_dim, depth):
    net = build_model("convnet", shape, 10, generator=_gen())
    x = torch.randn(2, *shape)
    assert net.depth == depth and len(net.blocks) == depth
    assert net.embed(x).shape == (2, embed_dim) and net(x).shape == (2, 10)
    assert [b.shape[1] for b in net.forward_blocks(x)] == [128] * depth
    assert build_model("convnet", shape, 10, generator=_gen(), depth=1).depth == 1


def test_convnet_depth_must_be_a_count_or_auto():
    with pytest.raises(ValueError, match="depth must be an int >= 1 or 'auto'"):
        build_model("convnet", (1, 8, 8), 10, generator=_gen(), depth="deep")


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("pooling", ["avg", "max", "none"])
def test_convnet_variants(norm, pooling):
    net = build_model(
        "convnet", (3, 16, 16), 4, generator=_gen(), width=8, depth=2, norm=norm, pooling=pooling
    )
    assert net(torch.randn(3, 3, 16, 16)).shape == (3, 4)


def test_convnet_instance_norm_is_groupnorm_per_channel():
    net = build_model("convnet", (1, 28, 28), 10, generator=_gen())
    norm = net.blocks[0][1]
    assert isinstance(norm, torch.nn.GroupNorm) and norm.num_groups == norm.num_channels == 128
    assert net.blocks[0][0].padding == (3, 3)  # 28x28 is padded to 32x32


def test_bad_convnet_settings():
    with pytest.raises(ValueError, match="norm must be one of"):
        build_model("convnet", (1, 8, 8), 2, generator=_gen(), norm="layer")
    with pytest.raises(TypeError, match=r"model 'convnet' has no parameter colour; .*'norm'"):
        build_model("convnet", (1, 8, 8), 2, generator=_gen(), colour=3)


def test_mlp_for_rows():
    net = build_model("mlp", (64,), 10, generator=_gen(), hidden=(32, 16))
    assert net.embed(torch.randn(5, 64)).shape == (5, 16)
    assert net(torch.randn(5, 64)).shape == (5, 10)


def test_torchvision_model_by_name():
    net = build_model("resnet18", (1, 28, 28), 10, generator=_gen())
    x = torch.randn(2, 1, 28, 28)
    assert net.embed(x).shape == (2, 512) and net(x).shape == (2, 10)
    assert "resnet18" in list_models(include_torchvision=True)


def test_initialisation_comes_from_the_generator_only():
    state = torch.random.get_rng_state()
    a = build_model("convnet", (1, 8, 8), 10, generator=_gen(1))
    b = build_model("convnet", (1, 8, 8), 10, generator=_gen(1))
    c = build_model("convnet", (1, 8, 8), 10, generator=_gen(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


def test_registry_refuses_duplicates_and_lists_names():
    reg = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 2)
    with pytest.raises(ValueError, match=r"Unknown thing 'b'; expected one of \['a'\]"):
        reg.get("b")
    assert "convnet" in MODELS


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_condenser_and_evaluator_take_a_torchvision_model(digits_small, method):
    from condensekit import CondensedEvaluator, DatasetCondenser

    from .conftest import FAST

    X, y = digits_small
    params = {k: v for k, v in FAST.items() if not k.startswith("model__")}
    params |= {"max_iter": 2, "strategy__batch_real": 4}
    cond = DatasetCondenser(method, ipc=1, model="resnet18", random_state=0, **params).fit(X, y)
    X_syn, y_syn = cond.transform()
    assert X_syn.shape == (10, 8, 8) and np.isfinite(X_syn).all()
    assert y_syn.tolist() == list(range(10))
    assert len(cond.history_) == 2 and np.isfinite(cond.history_["loss"]).all()
    assert (cond.history_["loss"] > 0).all()  # a matching loss was computed through the resnet
    res = CondensedEvaluator(n_models=1, epochs=2, model="resnet18", random_state=0).evaluate(
        cond, X, y
    )
    assert res.model == "resnet18" and len(res.accuracies) == 1
