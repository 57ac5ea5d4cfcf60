import numpy as np
import pytest
import torch
import torch.nn.functional as F

from atspectrum import evaluate, tables, transfer
from atspectrum.quantize import Quantizer, scaled_floor
from synthetic import bars, trained_bars_model


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
    # by hand: the stem, the quantized activation as a leaf, the rest of the network from there
    h = F.relu(net.bn1(net.conv1(x)))
    q = scaled_floor(h.detach(), beta).requires_grad_(True)
    out = q
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
            net, images, labels, 8, 10, 0.25, attack_quantize=Quantizer("conv0", beta, True),
            eval_quantize=Quantizer("conv0", beta, False), keep_adv=True)
        results[beta] = (frame, adv)
    assert not torch.equal(results[4.0][1], results[12.0][1])
    assert not results[4.0][0]["pred"].equals(results[12.0][0]["pred"])
    assert evaluate.accuracy(results[4.0][0]) != evaluate.accuracy(results[12.0][0])


def test_transfer_examples_round_trip_bit_identical_and_in_budget(tmp_path, net, batch):
    images, labels = batch
    frame, adv = evaluate.attack_per_example(net, images, labels, 8, 5, 0.25, keep_adv=True)
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
    acc = {(e, d, l): float(rng.integers(0, 100)) for e in eps for d in deltas for l in ["none", *layers]}
    acc[(4, 2, "conv0")] = acc[(4, 2, "none")]  # a tie is marked neither way
    table, marks = tables.quantization_table(acc, eps, deltas, layers)
    assert list(table.columns) == ["delta", "layer", "eps0", "eps4", "eps8"]
    assert list(zip(table["delta"], table["layer"])) == [(2, "none"), (2, "conv0"), (2, "layer1"),
                                                          (4, "none"), (4, "conv0"), (4, "layer1")]
    for i, row in table.iterrows():
        for e in eps:
            base = acc[(e, row["delta"], "none")]
            v = row[f"eps{e}"]
            want = "" if row["layer"] == "none" or v == base else ("+" if v > base else "-")
            assert marks.loc[i, f"eps{e}"] == want
    md = tables.to_markdown(table, marks=marks)
    assert md.count("**") // 2 == (marks == "+").sum().sum()
    assert r"\textit{" in tables.to_latex(table, marks=marks) or (marks == "-").sum().sum() == 0
