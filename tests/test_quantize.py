import copy
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from synthetic import bars, trained_bars_model

from atspectrum import config as C
from atspectrum import models
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer, apply, check_beta, scaled_floor
from atspectrum.evaluation import evaluate
from atspectrum.reporting import tables
from atspectrum.specs import APGDSpec, PGDSpec


@pytest.fixture(scope="module")
def net():
    """A trained model, so that quantization (and the attack) matter."""
    return trained_bars_model()


@pytest.fixture(scope="module")
def batch():
    return bars(48, 2)


def test_scaled_floor_and_its_straight_through_gradient():
    x = torch.tensor([0.0, 0.12, 0.49, 0.5, 1.26, -0.1], requires_grad=True)
    assert torch.equal(scaled_floor(x, 4), torch.tensor([0.0, 0.0, 0.25, 0.5, 1.25, -0.25]))
    (g,) = torch.autograd.grad(scaled_floor(x, 4, straight_through=True).sum(), x)
    assert torch.equal(g, torch.ones_like(x))  # identity backward
    assert torch.equal(scaled_floor(x, 4, straight_through=True), scaled_floor(x, 4))  # same forward


def test_huge_beta_and_layer_none_equal_the_plain_model(net, batch):
    images, labels = batch
    plain = evaluate.classify_per_example(net, images, labels)
    assert plain.equals(evaluate.classify_per_example(net, images, labels, quantize=None))
    for layer in net.quant_points:
        q = evaluate.classify_per_example(net, images, labels, quantize=Quantizer(layer, 2.0**20))
        assert (q["pred"] == plain["pred"]).all(), layer


def test_bpda_gradient_is_the_plain_gradient_at_the_quantized_activation(net):
    x = torch.rand(6, 1, 28, 28, requires_grad=True)
    y = torch.randint(0, 3, (6,))
    beta = 4.0
    loss = F.cross_entropy(net(x, quantize=Quantizer("conv0", beta, True)), y, reduction="sum")
    (g_bpda,) = torch.autograd.grad(loss, x)
    # by hand: the stem convolution, its quantized raw output as a leaf (conv0 sits before the stem BatchNorm), the
    # rest of the network from there
    h = net.conv1(x)
    q = (torch.floor(h.detach() * beta) / beta).requires_grad_(True)
    out = F.relu(net.bn1(q))
    for name in ("layer1", "layer2", "layer3", "layer4"):
        out = getattr(net, name)(out)
    logits = net.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))
    (g_q,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), q)
    (g_manual,) = torch.autograd.grad(h, x, grad_outputs=g_q)
    assert torch.allclose(g_bpda, g_manual, atol=1e-6, rtol=1e-5)
    # and it is not the plain model's gradient at the unquantized activation
    (g_plain,) = torch.autograd.grad(F.cross_entropy(net(x), y, reduction="sum"), x)
    assert not torch.allclose(g_bpda, g_plain, atol=1e-6)


def test_bpda_at_different_betas_attacks_different_functions(net, batch):
    images, labels = batch
    results = {}
    for beta in (4.0, 12.0):
        frame, adv = evaluate.attack_per_example(
            net,
            images,
            labels,
            8,
            PGDSpec(10, 0.25),
            attack_quantize=Quantizer("conv0", beta, True),
            eval_quantize=Quantizer("conv0", beta, False),
            keep_adv=True,
        )
        results[beta] = (frame, adv)
    assert not torch.equal(results[4.0][1], results[12.0][1])
    assert not results[4.0][0]["pred"].equals(results[12.0][0]["pred"])
    assert evaluate.accuracy(results[4.0][0]) != evaluate.accuracy(results[12.0][0])


def test_transfer_examples_round_trip_bit_identical_and_in_budget(tmp_path, net, batch):
    images, labels = batch
    frame, adv = evaluate.attack_per_example(net, images, labels, 8, PGDSpec(5, 0.25), keep_adv=True)
    path = tmp_path / "delta8.npz"
    transfer.save(path, adv, labels, 8)
    back = transfer.load(path, images, labels, 8)
    assert back.dtype == torch.float32 and torch.equal(back, adv)
    assert (back - images.float() / 255).abs().max() <= 8 / 255 + transfer.BUDGET_TOLERANCE
    # the perturbation is not rounded to 8 bits: most pixels sit between the 1/255 levels
    assert ((back * 255) - (back * 255).round()).abs().gt(1e-3).float().mean() > 0.1
    # verdicts of the plain model on the stored examples are those of the attack
    assert evaluate.classify_per_example(net, back, labels)["pred"].equals(frame["pred"])


def test_transfer_examples_out_of_budget_or_mismatched_are_refused(tmp_path, batch):
    images, labels = batch
    x = images.float() / 255
    path = tmp_path / "bad.npz"
    transfer.save(path, (x + 9 / 255).clamp(0, 1), labels, 8)
    with pytest.raises(transfer.TransferError, match="bad.npz.*budget"):
        transfer.load(path, images, labels, 8)
    transfer.save(path, x, labels, 4)
    with pytest.raises(transfer.TransferError, match="another test set or delta"):
        transfer.load(path, images, labels, 8)
    path.write_bytes(b"not a zip")
    with pytest.raises(transfer.TransferError, match="unreadable"):
        transfer.load(path, images, labels, 8)


def test_quantization_table_layout_and_marks():
    eps, deltas, layers = [0, 4, 8], [2, 4], ["conv0", "layer1"]
    rng = np.random.default_rng(0)
    acc = {(e, d, layer): float(rng.integers(0, 100)) for e in eps for d in deltas for layer in ["none", *layers]}
    acc[(4, 2, "conv0")] = acc[(4, 2, "none")]  # a tie is marked neither way
    table, marks = tables.quantization_table(acc, eps, deltas, layers)
    assert list(table.columns) == ["delta", "layer", "eps0", "eps4", "eps8"]
    assert list(zip(table["delta"], table["layer"])) == [
        (2, "none"),
        (2, "conv0"),
        (2, "layer1"),
        (4, "none"),
        (4, "conv0"),
        (4, "layer1"),
    ]
    for i, row in table.iterrows():
        for e in eps:
            base = acc[(e, row["delta"], "none")]
            v = row[f"eps{e}"]
            want = "" if row["layer"] == "none" or v == base else ("+" if v > base else "-")
            assert marks.loc[i, f"eps{e}"] == want
    md = tables.to_markdown(table, marks=marks)
    assert md.count("**") // 2 == (marks == "+").sum().sum()
    assert r"\textit{" in tables.to_latex(table, marks=marks) or (marks == "-").sum().sum() == 0


# --- where each quantization point sits (issue #12): the tensors the paper's code quantizes -----------------------


def _floor(t, beta):
    """floor(beta t)/beta written out, independent of atspectrum.attacks.quantize."""
    return torch.floor(t * beta) / beta


def _straight_through(t, beta):
    """floor(beta t)/beta forward, identity backward, written out."""
    return t + (_floor(t, beta) - t).detach()


def _set_batchnorm(bns, seed=1):
    """Far-from-identity BatchNorm weights (some negative), biases and running statistics, so that a tensor before
    a BatchNorm (+ ReLU) is not the one after it."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in bns:
            n = bn.num_features
            bn.weight.copy_(torch.randn(n, generator=g))
            bn.bias.copy_(torch.randn(n, generator=g) * 0.3)
            bn.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            bn.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.05)


@pytest.fixture(scope="module")
def resnet(net, batch):
    """The trained ResNet-18, its stem convolution scaled by 1/2 and its stem BatchNorm's running statistics set to
    match: the same network, but the stem BatchNorm now scales by about 7, so that quantizing before it and after it
    (+ ReLU) differ."""
    m = copy.deepcopy(net)
    with torch.no_grad():
        m.conv1.weight.mul_(0.5)
        m.bn1.running_mean.mul_(0.5)
        m.bn1.running_var.mul_(0.25)
        assert (m.bn1.weight / (m.bn1.running_var + m.bn1.eps).sqrt()).abs().min() > 5
        x = batch[0][:6].float() / 255
        assert torch.allclose(m(x), net(x), atol=1e-2)
    return m.eval()


@pytest.fixture(scope="module")
def wrn():
    torch.manual_seed(0)
    m = models.build("wrn28_10", 3, 1, width=1)
    _set_batchnorm([b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)])
    return m.eval()


def _resnet_by_hand(m, x, point=None, fn=None, relu_first=False):
    """ResNet-18's forward written out from its parts, ``fn`` applied at ``point`` where the paper's code quantizes:
    ``conv0`` on the raw stem convolution (before its BatchNorm), ``layerK`` on stage K's last residual sum (before
    its final ReLU; ``relu_first``: after it, the old placement); ``conv0_post`` (ours) after conv + BN + ReLU."""
    at = lambda name, t: fn(t) if name == point else t  # noqa: E731
    out = at("conv0", m.conv1(x))
    out = at("conv0_post", F.relu(m.bn1(out)))
    for k, (first, last) in enumerate((m.layer1, m.layer2, m.layer3, m.layer4), 1):
        out = first(out)
        s = last.bn2(last.conv2(F.relu(last.bn1(last.conv1(out))))) + last.shortcut(out)
        out = at(f"layer{k}", F.relu(s)) if relu_first else F.relu(at(f"layer{k}", s))
    return m.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def _wrn_by_hand(m, x, point=None, fn=None):
    """WRN-28-10's forward from its parts: ``init_conv`` on the raw initial convolution, ``layerK`` on block group K's
    output (the paper's ``before_f0`` … ``before_f3``)."""
    at = lambda name, t: fn(t) if name == point else t  # noqa: E731
    out = at("init_conv", m.init_conv((x - m.mean) / m.std))
    for i, group in enumerate(m.layer):
        out = at(f"layer{i}", group(out))
    return m.logits(F.adaptive_avg_pool2d(F.silu(m.batchnorm(out)), 1).flatten(1))


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_each_point_quantizes_the_papers_tensor(resnet, wrn, batch, arch):
    m, by_hand = (resnet, _resnet_by_hand) if arch == "resnet18" else (wrn, _wrn_by_hand)
    x, beta = batch[0][:6].float() / 255, 4.0
    with torch.no_grad():
        plain = m(x)
        assert torch.allclose(by_hand(m, x), plain, atol=1e-5)  # the reference is the model
        for point in m.selectable_quant_points():
            got = m(x, quantize=Quantizer(point, beta))
            assert (got - plain).abs().max() > 1e-2, point  # quantizing here matters at this tolerance
            assert torch.allclose(got, by_hand(m, x, point, lambda t: _floor(t, beta)), atol=1e-5), point
        if arch == "resnet18":  # before and after the stem BatchNorm + ReLU are different functions
            pre, post = m(x, quantize=("conv0", beta, False)), m(x, quantize=("conv0_post", beta, False))
            assert (pre - post).abs().max() > 0.1


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_each_points_bpda_gradient_is_the_straight_through_one_at_the_papers_tensor(resnet, wrn, batch, arch):
    m, by_hand = (resnet, _resnet_by_hand) if arch == "resnet18" else (wrn, _wrn_by_hand)
    x0, y, beta = batch[0][:6].float() / 255, batch[1][:6], 2.0

    def grad(forward):
        x = x0.clone().requires_grad_(True)
        return torch.autograd.grad(F.cross_entropy(forward(x), y, reduction="sum"), x)[0]

    for point in m.selectable_quant_points():
        got = grad(lambda x: m(x, quantize=(point, beta, True)))
        want = grad(lambda x: by_hand(m, x, point, lambda t: _straight_through(t, beta)))
        assert torch.allclose(got, want, atol=1e-6, rtol=1e-4), point
        if point.startswith("layer") and arch == "resnet18":  # the quantizer after the final ReLU is another one
            after = grad(lambda x: by_hand(m, x, point, lambda t: _straight_through(t, beta), relu_first=True))
            assert not torch.allclose(got, after, atol=1e-6, rtol=1e-4), point


def test_layer_points_sit_before_the_final_relu_for_the_straight_through_gradient(resnet, batch):
    """At ``layer4`` the gradient of the summed logits reaching the pre-ReLU sum s is w_c · 1[s ≥ 1/β]
    (relu(q(s)) with q' = 1): zero for s in (0, 1/β) too, where a quantizer after the ReLU would pass it."""
    m, beta, seen = resnet, 2.0, []

    def keep(module, inp, out):
        out.retain_grad()
        seen.append(out)

    handle = m.layer4[-1].preact.register_forward_hook(keep)
    try:
        x = (batch[0][:6].float() / 255).requires_grad_(True)
        m(x, quantize=("layer4", beta, True)).sum().backward()
    finally:
        handle.remove()
    s = seen[0]
    w = (m.linear.weight.sum(0) / (s.shape[2] * s.shape[3]))[None, :, None, None].expand_as(s)
    low = (s > 0) & (s < 1 / beta)
    assert low.any() and (s >= 1 / beta).any() and (s < 0).any()  # every case occurs
    assert torch.allclose(s.grad, w * (s >= 1 / beta), atol=1e-7)
    assert (s.grad[low] == 0).all() and (w[low] != 0).all()


# --- beta: a finite number > 0 at every entry point (issue #11) ----------------------------------------------------

BAD_BETAS = [-1.0, 0.0, math.nan, math.inf, 1e39]
BETA_MESSAGE = "quantization beta must be a finite number > 0"


@pytest.mark.parametrize("beta", BAD_BETAS)
def test_bad_beta_is_refused_by_the_quantizer_and_the_models(net, wrn, beta):
    with pytest.raises(ValueError, match=BETA_MESSAGE):
        check_beta(beta)
    with pytest.raises(ValueError, match=BETA_MESSAGE):
        apply(torch.ones(2), "conv0", Quantizer("conv0", beta, False))
    x = torch.rand(2, 1, 28, 28)
    for m, point in ((net, "conv0"), (net, "layer3"), (wrn, "layer1")):
        for straight_through in (False, True):
            with pytest.raises(ValueError, match=BETA_MESSAGE):
                m(x, quantize=Quantizer(point, beta, straight_through))


@pytest.mark.parametrize("beta", BAD_BETAS)
def test_bad_beta_is_refused_by_the_evaluations_before_any_work(net, beta):
    # no examples: nothing reaches the model, the evaluation itself must refuse the quantizer
    images, labels = torch.zeros((0, 1, 28, 28), dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
    bad_st, bad = Quantizer("conv0", beta, True), Quantizer("conv0", beta, False)
    calls = [
        lambda: evaluate.classify_per_example(net, images, labels, quantize=bad),
        lambda: evaluate.attack_per_example(net, images, labels, 8, PGDSpec(2, 0.25), attack_quantize=bad_st),
        lambda: evaluate.attack_per_example(net, images, labels, 8, PGDSpec(2, 0.25), eval_quantize=bad),
        lambda: evaluate.apgd_per_example(net, images, labels, 8, APGDSpec(2), attack_quantize=bad_st),
        lambda: evaluate.apgd_per_example(net, images, labels, 8, APGDSpec(2), eval_quantize=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=BETA_MESSAGE):
            call()


QUANT_CONFIG = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0]}},
    "overdesign": {"delta": [4]},
    "quantization": {
        "delta": [4],
        "beta": [4, 8],
        "attacks": ["transfer", "bpda", "apgd-bpda"],
        "apgd-bpda": {"beta": [8]},
    },
}


def test_the_quantization_config_without_a_bad_beta_is_valid():
    cfg = C.validate(copy.deepcopy(QUANT_CONFIG), check_data=False)
    assert C.quant_attack_betas(cfg, "apgd-bpda") == [8.0] and cfg["checklist"]["large_beta"]["beta"] == 1e6


@pytest.mark.parametrize("beta", BAD_BETAS)
@pytest.mark.parametrize(
    "where,key",
    [
        (("quantization", "beta"), "quantization.beta[1]"),
        (("quantization", "apgd-bpda", "beta"), "quantization.apgd-bpda.beta[0]"),
        (("checklist", "large_beta", "beta"), "checklist.large_beta.beta"),
    ],
)
def test_bad_beta_in_the_config_names_the_key(beta, where, key):
    cfg = copy.deepcopy(QUANT_CONFIG)
    node = cfg
    for part in where[:-1]:
        node = node.setdefault(part, {})
    node[where[-1]] = [8, beta] if key.endswith("[1]") else [beta] if key.endswith("[0]") else beta
    with pytest.raises(C.ConfigError, match=re.escape(f"config key '{key}'")):
        C.validate(cfg, check_data=False)
