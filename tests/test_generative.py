"""Condensation into a generative model: generators, the fitted artefact, sampling, loss terms."""

import pickle

import numpy as np
import pytest
import torch

from condensekit import DatasetCondenser
from condensekit.models import build_model
from condensekit.models.generators import (
    ConvGenerator,
    MLPGenerator,
    build_generator,
    count_parameters,
    upsampling_steps,
)
from condensekit.strategies.generative import (
    GenerativeMatching,
    codes_per_class,
    draw,
    inter_class_similarity,
    intra_class_similarity,
    latent_codes,
    mean_offdiagonal_cosine,
)

from .conftest import FAST

GEN_FAST = {**FAST, "strategy__warmup_iter": 5, "strategy__width": 16, "strategy__latent_dim": 8}


def _gen(shape, n_classes=10, seed=0, **kw):
    return build_generator(
        "conv" if len(shape) == 3 else "mlp",
        shape,
        n_classes,
        generator=torch.Generator().manual_seed(seed),
        **kw,
    )


@pytest.mark.parametrize(
    ("side", "steps"), [(8, 2), (28, 2), (32, 3), (30, 1), (7, 0), (4, 1), (2, 0)]
)
def test_upsampling_steps(side, steps):
    assert upsampling_steps(side, side) == steps


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 30, 30), (3, 7, 9)])
def test_conv_generator_output_shape(shape):
    net = _gen(shape, latent_dim=8, width=16)
    z, y = latent_codes(10, 3, 8, seed=0)
    assert net(z, y).shape == (30, *shape)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (64,)])
def test_only_the_label_embedding_grows_with_the_number_of_classes(shape):
    sizes = {}
    for n_classes in (10, 100, 1000):
        net = _gen(shape, n_classes=n_classes, latent_dim=8, width=16)
        embedding = count_parameters(net.embedding)
        assert embedding == n_classes * net.embedding.embedding_dim
        sizes[n_classes] = count_parameters(net) - embedding
    assert len(set(sizes.values())) == 1, sizes  # the rest is the same for 10 or 1,000 classes


def test_mlp_generator_and_wrong_families():
    net = _gen((64,), latent_dim=8)
    assert isinstance(net, MLPGenerator)
    assert net(torch.randn(4, 8), torch.tensor([0, 1, 2, 3])).shape == (4, 64)
    with pytest.raises(ValueError, match="strategy__generator='mlp'"):
        ConvGenerator((64,), 10)
    with pytest.raises(ValueError, match="strategy__generator='conv'"):
        MLPGenerator((1, 8, 8), 10)


def test_samples_do_not_depend_on_the_batch_they_are_drawn_in():
    net = _gen((1, 8, 8), latent_dim=8, width=16)
    z, y = latent_codes(10, 4, 8, seed=3)
    whole = net(z, y)
    torch.testing.assert_close(net(z[:5], y[:5]), whole[:5])
    torch.testing.assert_close(draw(net, z, y, batch_size=7), whole.detach())


def test_latent_codes_are_fixed_by_the_seed_and_grouped_by_class():
    z1, y1 = latent_codes(3, 4, 5, seed=11)
    z2, _ = latent_codes(3, 4, 5, seed=11)
    z3, _ = latent_codes(3, 4, 5, seed=12)
    assert torch.equal(z1, z2) and not torch.equal(z1, z3)
    assert y1.tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_codes_per_class_start_with_the_sets_codes():
    fixed = torch.randn(3, 2, 5, generator=torch.Generator().manual_seed(0))
    z, _ = codes_per_class(fixed, 2, None)
    torch.testing.assert_close(z, fixed.reshape(6, 5))
    z1, y1 = codes_per_class(fixed, 1, None)
    torch.testing.assert_close(z1, fixed[:, 0])
    assert y1.tolist() == [0, 1, 2]
    z4, y4 = codes_per_class(fixed, 4, None, extra_seed=9)
    grouped = z4.view(3, 4, 5)
    torch.testing.assert_close(grouped[:, :2], fixed)
    torch.testing.assert_close(codes_per_class(fixed, 4, None, extra_seed=9)[0], z4)
    assert not torch.equal(codes_per_class(fixed, 4, None, extra_seed=8)[0], z4)
    assert y4.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    fresh, _ = codes_per_class(fixed, 2, seed=1)
    assert not torch.equal(fresh, z)
    # larger draws extend smaller ones in every class, not only in class 0
    z7, _ = codes_per_class(fixed, 7, None, extra_seed=9)
    torch.testing.assert_close(z7.view(3, 7, 5)[:, :4], grouped)


def test_similarity_terms_on_known_vectors():
    same = torch.ones(4, 3)
    assert float(mean_offdiagonal_cosine(same)) == pytest.approx(1.0)
    assert float(mean_offdiagonal_cosine(torch.eye(3))) == pytest.approx(0.0)
    # two classes of two samples: class 0 identical (1.0), class 1 orthogonal (0.0)
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert float(intra_class_similarity(emb, 2)) == pytest.approx(0.5)
    assert float(inter_class_similarity(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))) == pytest.approx(
        0.0
    )
    assert float(inter_class_similarity(torch.tensor([[1.0, 1.0], [2.0, 2.0]]))) == pytest.approx(
        1.0
    )


def _fit(X, y, **kw):
    params = {**GEN_FAST, "random_state": 0, **kw}
    return DatasetCondenser("generative", **params).fit(X, y)


def test_fit_transform_shapes_labels_sizes_and_generator(digits_small):
    X, y = digits_small
    cond = _fit(X, y, ipc=3)
    X_syn, y_syn = cond.transform()
    assert X_syn.shape == (30, 8, 8) and X_syn.dtype == X.dtype
    assert y_syn.tolist() == np.repeat(np.arange(10), 3).tolist()
    assert np.isfinite(X_syn).all()
    assert len(cond.history_) == 3 and cond.n_iter_ == 3
    assert isinstance(cond.generator_, ConvGenerator)
    assert tuple(cond.latent_codes_.shape) == (10, 3, 8)
    assert next(cond.generator_.parameters()).device.type == "cpu"
    assert not any(p.requires_grad for p in cond.generator_.parameters())
    size = cond.condensed_size_
    assert size["kind"] == "generator"
    assert size["values"] == count_parameters(cond.generator_)
    assert size["bytes"] == 4 * size["values"]
    assert size["pixel_values"] == 30 * 64


def test_pixel_methods_report_their_size(digits_small):
    X, y = digits_small
    dm = DatasetCondenser("dm", ipc=2, random_state=0, **FAST).fit(X, y)
    assert dm.condensed_size_ == {
        "kind": "pixels",
        "values": 20 * 64,
        "bytes": 4 * 20 * 64,
        "pixel_values": 20 * 64,
    }
    rnd = DatasetCondenser("random", ipc=2, random_state=0, verbose=0).fit(X, y)
    assert rnd.condensed_size_["kind"] == "selection"
    assert not hasattr(dm, "sample") and hasattr(rnd, "sample")  # a selection cuts its ranking


def test_determinism_and_sampling(digits_small):
    X, y = digits_small
    a = _fit(X, y, ipc=2)
    b = _fit(X, y, ipc=2)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    # transform() is the set's own codes; sample() repeats it, and larger draws extend it
    X_s, y_s = a.sample()
    np.testing.assert_allclose(X_s, a.transform()[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y_s, a.y_syn_)
    X50, y50 = a.sample(n_per_class=50)
    assert X50.shape == (500, 8, 8)
    assert np.bincount(y50).tolist() == [50] * 10
    np.testing.assert_array_equal(a.sample(n_per_class=50)[0], X50)
    np.testing.assert_allclose(
        X50.reshape(10, 50, 8, 8)[:, :2], X_s.reshape(10, 2, 8, 8), atol=1e-5
    )
    np.testing.assert_allclose(a.sample(1)[0], X_s.reshape(10, 2, 8, 8)[:, 0], atol=1e-5)
    other, _ = a.sample(n_per_class=2, random_state=1)
    assert not np.allclose(other, X_s)
    # the fitted ipc, not a parameter changed after fit, sets the default draw
    a.set_params(ipc=5)
    assert a.sample()[0].shape == X_s.shape
    a.set_params(ipc=2)
    c = _fit(X, y, ipc=2, random_state=1)
    assert not np.allclose(c.X_syn_, a.X_syn_)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_sample_rejects_bad_counts(digits_small, bad):
    X, y = digits_small
    cond = _fit(X, y, ipc=1)
    with pytest.raises(ValueError, match="n_per_class"):
        cond.sample(n_per_class=bad)


def test_sample_is_hidden_before_fit():
    assert not hasattr(DatasetCondenser("generative"), "sample")


def test_pickle_keeps_the_generator(digits_small):
    X, y = digits_small
    cond = _fit(X, y, ipc=2)
    back = pickle.loads(pickle.dumps(cond))
    assert isinstance(back.generator_, ConvGenerator)
    np.testing.assert_array_equal(back.sample(n_per_class=7)[0], cond.sample(n_per_class=7)[0])


@pytest.mark.parametrize(("rows", "n_codes"), [(False, None), (True, None), (False, 5)])
def test_saved_generator_draws_what_the_condenser_draws(digits_small, tmp_path, rows, n_codes):
    from condensekit import load_condensed

    X, y = digits_small
    if rows:  # rows of features: the mlp generator
        X = X.reshape(len(X), -1)
    cond = _fit(X, y, ipc=2, strategy__n_codes=n_codes)
    path = cond.save(tmp_path / "gen")
    loaded = load_condensed(path)
    assert type(loaded.generator) is type(cond.generator_)
    np.testing.assert_array_equal(loaded.X, cond.transform()[0])
    for n, seed in [(None, None), (1, None), (7, None), (3, 11)]:
        got, want = loaded.sample(n, random_state=seed), cond.sample(n, random_state=seed)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert loaded.metadata["condensed_size"]["values"] == sum(
        p.numel() for p in loaded.generator.parameters()
    )


def test_a_saved_generator_that_does_not_fit_is_refused(digits_small, tmp_path):
    import json

    from condensekit import CondensedFileError, load_condensed

    X, y = digits_small
    good = _fit(X, y, ipc=2).save(tmp_path / "gen")
    arrays = dict(np.load(good))
    meta = json.loads(str(arrays["metadata"]))

    def variant(name, metadata=None, **changes):
        out = {**arrays, **changes}
        if metadata is not None:
            out["metadata"] = np.array(json.dumps(metadata))
        np.savez(tmp_path / f"{name}.npz", **out)
        return tmp_path / f"{name}.npz"

    weight = next(k for k in arrays if k.startswith("generator/"))
    cases = {
        variant("unknown", {**meta, "generator": {**meta["generator"], "name": "evil"}}): (
            "'evil' is not registered"
        ),
        variant("wide", **{weight: np.zeros((3, 3), dtype=np.float32)}): "of shape \\(3, 3\\)",
        variant("few_codes", latent_codes=np.zeros((10, 1, 8), dtype=np.float32)): "latent codes",
        variant("code_size", latent_codes=np.zeros((10, 2, 7), dtype=np.float32)): "latent codes",
        variant("text", **{weight: np.full(arrays[weight].shape, "a")}): "is <U1",
    }
    for path, message in cases.items():
        with pytest.raises(CondensedFileError, match=message):
            load_condensed(path)
    dm = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(X, y)
    with pytest.raises(AttributeError, match="only a generative set or a selection"):
        load_condensed(dm.save(tmp_path / "dm")).sample(3)


def test_rows_use_the_mlp_generator_and_ipc_may_exceed_a_class(digits_small):
    X, y = digits_small  # ten samples per class
    rows = X.reshape(len(X), -1)
    cond = _fit(rows, y, ipc=12)
    assert isinstance(cond.generator_, MLPGenerator)
    assert cond.transform()[0].shape == (120, 64)


def test_one_sample_per_class_has_no_intra_pair_and_fits(digits_small):
    X, y = digits_small
    e = torch.randn(10, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    term = intra_class_similarity(e, 10)  # one sample per class: no pair, nothing to push
    assert term.item() == 0.0 and not term.requires_grad
    cond = DatasetCondenser("generative", ipc=1, random_state=0, **GEN_FAST).fit(X, y)  # fresh 0
    assert cond.transform()[0].shape == (10, 8, 8)
    off = DatasetCondenser(
        "generative", ipc=1, random_state=0, **GEN_FAST, strategy__intra_weight=0
    ).fit(X, y)
    np.testing.assert_array_equal(cond.transform()[0], off.transform()[0])


@pytest.mark.parametrize(
    ("fresh_per_class", "fresh", "n_codes"),
    [(None, 0, 3), (None, 3, 6), (0, 0, 3), (2, 2, 3), (2, 2, 6), (5, 5, 6)],
)
def test_each_iteration_adds_fresh_codes_to_the_sets_own(fresh_per_class, fresh, n_codes):
    from types import SimpleNamespace

    from condensekit.strategies.generative import GeneratorSet

    net = _gen((1, 8, 8), n_classes=4, latent_dim=8, width=16)
    codes = torch.randn(4, n_codes, 8, generator=torch.Generator().manual_seed(1))
    ctx = SimpleNamespace(
        ipc=3, device=torch.device("cpu"), generator=torch.Generator().manual_seed(2)
    )
    strategy = GenerativeMatching(fresh_per_class=fresh_per_class, n_codes=n_codes)
    assert strategy.fresh(ctx) == fresh and strategy.codes_per_class(ctx) == n_codes
    gset = GeneratorSet(net, codes, 3, strategy.fresh(ctx), ctx)
    (first, y1), (second, y2) = gset.samples(), gset.samples()
    per_class = 3 + fresh
    assert first.shape == (4 * per_class, 1, 8, 8)
    assert y1.tolist() == y2.tolist() == np.repeat(np.arange(4), per_class).tolist()
    labels = torch.arange(4).repeat_interleave(n_codes)
    with torch.no_grad():
        trained = net(codes.reshape(-1, 8), labels).view(4, n_codes, 1, 8, 8)
    grouped = [t.detach().view(4, per_class, 1, 8, 8) for t in (first, second)]
    for g in grouped:
        torch.testing.assert_close(g[:, :3], trained[:, :3])  # the set's codes first, always
        bank = min(fresh, n_codes - 3)
        for c in range(4):  # then distinct further trained codes of the class
            chosen = [
                next(j for j in range(3, n_codes) if torch.allclose(x, trained[c, j]))
                for x in g[c, 3 : 3 + bank]
            ]
            assert len(set(chosen)) == bank
    if fresh:  # and the fresh choice changes between iterations
        assert not torch.allclose(grouped[0][:, 3:], grouped[1][:, 3:])


def test_further_codes_are_warmed_up_trained_and_drawn_first(digits):
    X_train, _, y_train, _ = digits
    settings = {**GEN_FAST, "ipc": 2, "random_state": 0, "strategy__warmup_iter": 150}
    plain = _fit(X_train, y_train, **settings)
    banked = _fit(X_train, y_train, **settings, strategy__n_codes=6)
    assert banked.latent_codes_.shape == (10, 6, 8) and plain.latent_codes_.shape == (10, 2, 8)
    assert banked.transform()[0].shape == (20, 8, 8)  # the set is still ipc per class
    flat = X_train.reshape(len(X_train), -1)

    def nearest_real(X):  # mean distance of samples to their nearest real image
        d = ((X.reshape(len(X), -1)[:, None] - flat[None]) ** 2).sum(-1)
        return float(np.sqrt(d.min(1)).mean())

    # samples 3 to 6 of every class: warmed-up trained codes with n_codes=6, untrained ones else
    extra = [
        cond.sample(6)[0].reshape(10, 6, 8, 8)[:, 2:].reshape(-1, 8, 8) for cond in (plain, banked)
    ]
    assert nearest_real(extra[1]) < 0.75 * nearest_real(extra[0])
    with pytest.raises(ValueError, match="strategy__n_codes=1 is below ipc=2"):
        _fit(X_train, y_train, **settings, strategy__n_codes=1)


def test_settings_are_validated(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__generator"):
        _fit(X, y, ipc=1, strategy__generator="gan")
    with pytest.raises(ValueError, match="strategy__intra_weight"):
        _fit(X, y, ipc=1, strategy__intra_weight=-1)


# -- each term moves in the right direction on real digits ------------------------------------


@pytest.fixture
def images(digits):
    X_train, _, y_train, _ = digits
    X = torch.as_tensor(X_train, dtype=torch.float32)[:, None]
    X = (X - X.mean()) / X.std()
    return X, torch.as_tensor(y_train)


def _embedder(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return build_model("convnet", (1, 8, 8), 10, generator=gen, width=32).requires_grad_(False)


def _optimise(term, net, steps=40, lr=1e-2):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    z, y = latent_codes(10, 6, net.latent_dim, seed=5)
    values = []
    for _ in range(steps):
        loss = term(net(z, y), y)
        values.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return values


def _term_of(strategy):
    """The strategy's ``extra_loss`` on generated embeddings (the term the fit minimises)."""
    from types import SimpleNamespace

    ctx = SimpleNamespace(ipc=6, device=torch.device("cpu"), data=SimpleNamespace(n_classes=10))
    return lambda e, y: strategy.extra_loss((None, None), y, (e, None), y, ctx)


def test_extra_loss_is_the_weighted_sum_of_both_terms():
    from condensekit.strategies.base import class_means

    e = torch.rand(60, 7, generator=torch.Generator().manual_seed(0))  # non-negative, like ReLU
    y = torch.arange(10).repeat_interleave(6)
    intra = intra_class_similarity(e, 10)
    inter = inter_class_similarity(class_means(e, y, 10))
    both = _term_of(GenerativeMatching(intra_weight=2.5, inter_weight=0.5))(e, y)
    torch.testing.assert_close(both, 2.5 * intra + 0.5 * inter)
    only_intra = _term_of(GenerativeMatching(intra_weight=3.0, inter_weight=0))(e, y)
    torch.testing.assert_close(only_intra, 3.0 * intra)
    only_inter = _term_of(GenerativeMatching(intra_weight=0, inter_weight=4.0))(e, y)
    torch.testing.assert_close(only_inter, 4.0 * inter)
    # both similarities are positive here, so each term adds to the loss (minimised: pushed down)
    assert float(intra) > 0 and float(inter) > 0


def test_intra_class_term_pushes_samples_of_a_class_apart():
    gen, emb = _gen((1, 8, 8), latent_dim=8, width=16), _embedder()
    term = _term_of(GenerativeMatching(intra_weight=1.0, inter_weight=0))
    before = float(intra_class_similarity(emb.embed(_drawn(gen)[0]), 10))
    _optimise(lambda x, y: term(emb.embed(x), y), gen)
    after = float(intra_class_similarity(emb.embed(_drawn(gen)[0]), 10))
    assert after < before - 0.05


def test_inter_class_term_moves_class_centres_apart():
    from condensekit.strategies.base import class_means

    gen, emb = _gen((1, 8, 8), latent_dim=8, width=16), _embedder()
    term = _term_of(GenerativeMatching(intra_weight=0, inter_weight=1.0))

    def inter(x, y):
        return float(inter_class_similarity(class_means(emb.embed(x), y, 10)))

    before = inter(*_drawn(gen))
    _optimise(lambda x, y: term(emb.embed(x), y), gen)
    assert inter(*_drawn(gen)) < before - 0.05


def _drawn(net):
    z, y = latent_codes(10, 6, net.latent_dim, seed=5)
    with torch.no_grad():
        return net(z, y), y


def test_matching_brings_generated_class_means_to_the_real_ones(digits):
    X_train, _, y_train, _ = digits

    def gap(cond):
        X_syn, y_syn = cond.sample(n_per_class=20)
        return np.mean(
            [
                np.linalg.norm(X_syn[y_syn == c].mean(0) - X_train[y_train == c].mean(0))
                for c in range(10)
            ]
        )

    settings = {
        **GEN_FAST,
        "ipc": 5,
        "init": "noise",
        "random_state": 0,
        "strategy__intra_weight": 0,
        "strategy__inter_weight": 0,
        "strategy__lr_syn": 1e-2,
        "strategy__batch_real": 32,
    }
    start = DatasetCondenser("generative", **{**settings, "max_iter": 1}).fit(X_train, y_train)
    trained = DatasetCondenser("generative", **{**settings, "max_iter": 60}).fit(X_train, y_train)
    assert gap(trained) < 0.75 * gap(start)


def test_reconstruction_warmup_starts_from_real_looking_samples(digits):
    X_train, _, y_train, _ = digits
    settings = {**GEN_FAST, "ipc": 5, "max_iter": 1, "random_state": 0}
    noise = DatasetCondenser("generative", init="noise", **settings)
    warmed = DatasetCondenser("generative", **{**settings, "strategy__warmup_iter": 150})

    def nearest_real(cond):
        X_syn, _ = cond.fit(X_train, y_train).sample(n_per_class=10)
        flat = X_train.reshape(len(X_train), -1)
        d = ((X_syn.reshape(len(X_syn), -1)[:, None] - flat[None]) ** 2).sum(-1)
        return float(np.sqrt(d.min(1)).mean())

    assert nearest_real(warmed) < 0.75 * nearest_real(noise)


def test_both_terms_off_adds_nothing():
    strategy = GenerativeMatching(intra_weight=0, inter_weight=0)
    assert not strategy.has_extra_terms()
    assert GenerativeMatching().has_extra_terms()


def test_evaluator_scores_a_new_draw(digits_small, digits, monkeypatch):
    import condensekit.evaluation.networks as ev_mod
    from condensekit import CondensedEvaluator

    X, y = digits_small
    _, X_test, _, y_test = digits
    cond = _fit(X, y, ipc=1)
    trained_on = []
    real_train = ev_mod.train_network

    def spy(net, X_train, y_train, **kw):
        trained_on.append((X_train.clone(), y_train.clone()))
        return real_train(net, X_train, y_train, **kw)

    monkeypatch.setattr(ev_mod, "train_network", spy)
    ev = CondensedEvaluator(n_models=1, epochs=2, random_state=0, model__width=16)
    res = ev.evaluate(cond, X_test[:50], y_test[:50], n_per_class=4)
    assert len(res.accuracies) == 1
    ((X_used, y_used),) = trained_on  # the networks train on the draw of 4 per class
    assert X_used.shape == (40, 1, 8, 8)
    assert torch.bincount(y_used).tolist() == [4] * 10
    X_draw, _ = cond.sample(n_per_class=4)
    # the same samples, up to the evaluator's normalisation (one affine map for all pixels)
    corr = np.corrcoef(X_used.numpy().ravel(), X_draw.ravel())[0, 1]
    assert corr > 0.999
    dm = DatasetCondenser("dm", ipc=1, random_state=0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="n_per_class needs"):
        ev.evaluate(dm, X_test[:50], y_test[:50], n_per_class=4)
    with pytest.raises(ValueError, match="n_per_class needs"):
        ev.evaluate(cond.transform(), X_test[:50], y_test[:50], n_per_class=4)


def test_generators_registered_later_are_accepted(digits_small, monkeypatch):
    from condensekit.models.generators import GENERATORS, MLPGenerator

    X, y = digits_small
    monkeypatch.setitem(GENERATORS._items, "my_mlp", MLPGenerator)
    cond = _fit(X.reshape(len(X), -1), y, ipc=1, strategy__generator="my_mlp")
    assert type(cond.generator_).__name__ == "MLPGenerator"


# -- how the set is matched, and learned codes ---------------------------------------------------


def test_separate_matching_matches_the_set_and_the_fresh_samples_each():
    from types import SimpleNamespace

    gen = torch.Generator().manual_seed(0)
    ctx = SimpleNamespace(ipc=2, data=SimpleNamespace(n_classes=3))
    e = torch.randn(3 * 5, 4, generator=gen)  # per class: the set's 2, then 3 fresh
    y = torch.arange(3).repeat_interleave(5)
    real = torch.randn(3, 4, generator=gen)
    grouped = e.view(3, 5, 4)
    own = ((real - grouped[:, :2].mean(1)) ** 2).sum()
    fresh = ((real - grouped[:, 2:].mean(1)) ** 2).sum()
    separate = GenerativeMatching(matching="separate", fresh_per_class=3)
    torch.testing.assert_close(separate.matching_loss(real, e, y, ctx), own + fresh)
    joint = GenerativeMatching(matching="joint", fresh_per_class=3)
    torch.testing.assert_close(
        joint.matching_loss(real, e, y, ctx), ((real - grouped.mean(1)) ** 2).sum()
    )
    only_set = GenerativeMatching(matching="set", fresh_per_class=3)
    torch.testing.assert_close(only_set.matching_loss(real, e, y, ctx), own)
    assert GenerativeMatching().matching == "separate"  # the default
    # without fresh samples both are the set's own distance
    none = GenerativeMatching(matching="separate", fresh_per_class=0)
    torch.testing.assert_close(
        none.matching_loss(real, e[:6], torch.arange(3).repeat_interleave(2), ctx),
        ((real - e[:6].view(3, 2, 4).mean(1)) ** 2).sum(),
    )


def test_learned_codes_move_and_fixed_codes_do_not(digits_small):
    X, y = digits_small
    fixed = _fit(X, y, ipc=2, random_state=0)
    learned = _fit(X, y, ipc=2, random_state=0, strategy__learn_codes=True)
    assert not fixed.latent_codes_.requires_grad and not learned.latent_codes_.requires_grad
    assert fixed.latent_codes_.shape == learned.latent_codes_.shape
    assert not torch.equal(
        torch.as_tensor(fixed.latent_codes_), torch.as_tensor(learned.latent_codes_)
    )
    # the set is drawn from the learned codes: sample() of ipc draws exactly the set
    np.testing.assert_allclose(learned.sample()[0], learned.X_syn_, rtol=1e-5, atol=1e-6)


def test_matching_and_code_settings_are_validated(digits_small):
    X, y = digits_small
    with pytest.raises(ValueError, match="strategy__matching"):
        _fit(X, y, ipc=1, strategy__matching="both")
    with pytest.raises(ValueError, match="strategy__learn_codes"):
        _fit(X, y, ipc=1, strategy__learn_codes="yes")
