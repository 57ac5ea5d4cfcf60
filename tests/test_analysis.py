import pandas as pd
import pytest
import torch
from torch import nn

from atspectrum import analysis, models
from atspectrum.reporting import tables


def hand_set_net():
    """conv0 (2→3, 3×3) → BN → 1×1 conv → ReLU → BN → conv5 (1→2, 3×3): weights whose norms are worked out below."""
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, bias=False),
        nn.BatchNorm2d(3, eps=1.0),
        nn.Conv2d(3, 1, 1, bias=False),
        nn.ReLU(),
        nn.BatchNorm2d(1),
        nn.Conv2d(1, 2, 3),
    )
    with torch.no_grad():
        w = torch.zeros(3, 2, 3, 3)
        for o in range(3):
            for i in range(2):
                w[o, i, o, i] = -(o + 1) * (i + 1)  # slice (o, i): max|w| = (o+1)(i+1), Σ|w| = (o+1)(i+1) + 0.5
                w[o, i, 2 - o, 2] = 0.5
        net[0].weight.copy_(w)
        net[1].weight.copy_(torch.tensor([4.0, -3.0, 1.5]))
        net[1].running_var.copy_(torch.tensor([3.0, 3.0, 8.0]))  # σ = sqrt(var + eps 1) = 2, 2, 3
        net[2].weight.fill_(5.0)
        net[5].weight.copy_(torch.tensor([0.5, -2.0]).view(2, 1, 1, 1) * torch.ones(2, 1, 3, 3))
    return net


def test_filter_norms_of_hand_set_weights():
    net = hand_set_net().train()
    running = [b.clone() for b in net.buffers()]
    frame = analysis.filter_norms(net)
    assert list(frame["layer"]) == ["0", "2", "5"]
    first = frame.iloc[0]
    assert (first["kind"], first["index"], first["slices"]) == ("3x3", 1, 6)
    # the paper's: max|w| per slice, (o+1)(i+1) = 1, 2, 2, 4, 3, 6
    assert first["mean"] == pytest.approx(3.0) and first["max"] == pytest.approx(6.0)
    # ours: Σ|w[o]| = 3(o+1) + 2·0.5 = 4, 7, 10; rescaled by |γ|/σ = 2, 1.5, 0.5: 8, 10.5, 5
    assert first["op_norm"] == pytest.approx(10.0)
    assert first["bn"] == "1" and first["op_norm_bn"] == pytest.approx(10.5)
    shortcut = frame.iloc[1]  # a ReLU lies between it and the next BatchNorm: not rescaled
    assert shortcut["kind"] == "1x1" and pd.isna(shortcut["index"])
    assert (shortcut["max"], shortcut["op_norm"], shortcut["bn"]) == (5.0, 15.0, "")
    assert pd.isna(shortcut["op_norm_bn"])
    last = frame.iloc[2]
    assert (last["index"], last["mean"], last["max"], last["op_norm"]) == (2, 1.25, 2.0, 18.0)
    assert pd.isna(last["op_norm_bn"])
    # the probe forward pass ran in eval mode: mode and BatchNorm statistics untouched
    assert net.training and all(torch.equal(a, b) for a, b in zip(running, net.buffers()))


def test_filter_norms_cover_every_conv_of_the_paper_models():
    frame = analysis.filter_norms(models.build("resnet18", 10, 3, width=4))
    assert (frame["kind"] == "3x3").sum() == 17 and (frame["kind"] == "1x1").sum() == 3
    assert list(frame.loc[frame["kind"] == "3x3", "index"]) == list(range(1, 18))
    assert frame.iloc[0]["layer"] == "conv1"
    # every ResNet conv feeds its own BatchNorm: conv1 → bn1, conv2 → bn2, shortcut.0 → shortcut.1
    want = [name.replace("conv", "bn").replace("shortcut.0", "shortcut.1") for name in frame["layer"]]
    assert list(frame["bn"]) == want and frame["op_norm_bn"].notna().all()
    wrn = analysis.filter_norms(models.build("wrn28_10", 10, 1, width=1, depth=10))
    # pre-activation blocks: only the initial conv and each block's conv_0 feed a BatchNorm directly
    paired = wrn[wrn["bn"] != ""]
    assert list(paired["layer"]) == ["init_conv"] + [f"layer.{g}.0.conv_0" for g in range(3)]
    assert list(paired["bn"]) == ["layer.0.0.batchnorm_0"] + [f"layer.{g}.0.batchnorm_1" for g in range(3)]
    assert wrn.loc[wrn["bn"] == "", "op_norm_bn"].isna().all()


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_streaming_preact_statistics_equal_one_pass(arch):
    torch.manual_seed(0)
    extra = {"depth": 10} if arch == "wrn28_10" else {}
    net = models.build(arch, 10, 1, width=2, **extra).eval()
    x = torch.rand(37, 1, 28, 28)
    stats = analysis.PreactStats()
    captured = []
    handle = net.final_preact.register_forward_hook(lambda m, i, o: captured.append(o))
    with analysis.recording_preact(net, stats), torch.no_grad():
        logits = torch.cat([net(x[start : start + 8]) for start in range(0, 37, 8)])
    handle.remove()
    full = torch.cat(captured)
    # the hooked tensor is the final pre-activation: the activation, pooling and linear layer of it give the logits
    act = torch.relu if arch == "resnet18" else torch.nn.functional.silu
    head = net.linear if arch == "resnet18" else net.logits
    torch.testing.assert_close(head(act(full).mean(dim=(2, 3))), logits)
    result = stats.result()
    negative, positive = int((full < 0).sum()), int((full > 0).sum())
    assert negative > 0 and positive > 0  # before the activation, so the sign counts below mean something
    assert result["units"] == full.numel() == 37 * full[0].numel()
    assert (result["negative"], result["positive"]) == (negative, positive)
    assert result["neg_minus_pos"] == negative - positive
    assert result["neg_minus_pos_fraction"] == pytest.approx((negative - positive) / full.numel(), rel=1e-12)
    assert result["mean"] == pytest.approx(full.double().mean().item(), rel=1e-12)
    with torch.no_grad():
        net(x[:2])  # the hook is gone: nothing more is recorded
    assert stats.result()["units"] == full.numel()


def test_preact_stats_merge_and_empty():
    a, b, both = analysis.PreactStats(), analysis.PreactStats(), analysis.PreactStats()
    assert a.result()["mean"] is None and a.result()["units"] == 0
    x, y = torch.tensor([[-1.0, 0.0, 2.0]]), torch.tensor([-3.0, -0.5])
    a.update(x), b.update(y), both.update(x), both.update(y)
    a.merge(b)
    assert (
        a.result()
        == both.result()
        == {
            "mean": -2.5 / 5,
            "units": 5,
            "negative": 3,
            "positive": 1,
            "neg_minus_pos": 2,
            "neg_minus_pos_fraction": 2 / 5,
        }
    )


def preact_json(cells: dict[str, dict[int, tuple[float, int, int, int]]], clean: tuple[float, int, int, int]) -> dict:
    """The JSON evaluate_corruptions writes, from (mean, units, negative, positive) per corruption and severity."""

    def result(mean, units, neg, pos):
        return {
            "mean": mean,
            "units": units,
            "negative": neg,
            "positive": pos,
            "neg_minus_pos": neg - pos,
            "neg_minus_pos_fraction": (neg - pos) / units,
        }

    def pooled(items):
        units = sum(c[1] for c in items)
        return result(
            sum(c[0] * c[1] for c in items) / units, units, sum(c[2] for c in items), sum(c[3] for c in items)
        )

    return {
        "clean": result(*clean),
        "corrupted": pooled([c for by in cells.values() for c in by.values()]),
        "per_corruption": {n: pooled(list(by.values())) for n, by in cells.items()},
        "per_severity": {n: {str(s): result(*c) for s, c in by.items()} for n, by in cells.items()},
    }


def test_figure3_has_the_code_statistic_and_the_text_statistic():
    preact = preact_json(
        {"fog": {1: (2.0, 10, 1, 9), 5: (-1.0, 10, 8, 2)}, "snow": {1: (4.0, 30, 0, 30), 5: (0.5, 30, 3, 27)}},
        clean=(3.0, 40, 4, 36),
    )
    fig = analysis.figure3(preact)
    # the code: the plain average over corruptions of the severity-5 values
    assert fig["code"]["severity"] == 5 and fig["code"]["corruptions"] == 2
    assert fig["code"]["mean"] == pytest.approx((-1.0 + 0.5) / 2)
    assert fig["code"]["neg_minus_pos"] == pytest.approx(((8 - 2) + (3 - 27)) / 2)
    assert fig["code"]["neg_minus_pos_fraction"] == pytest.approx((6 / 10 + -24 / 30) / 2)
    # the text: every corruption and severity pooled (weighted by values)
    assert fig["text"]["mean"] == pytest.approx((20 - 10 + 120 + 15) / 80)
    assert fig["text"]["neg_minus_pos_fraction"] == pytest.approx((12 - 68) / 80)
    assert fig["clean"] == {"mean": 3.0, "neg_minus_pos_fraction": -32 / 40, "units": 40}
    table = tables.preact_table(
        {0: fig, 4: analysis.figure3(preact_json({"fog": {3: (1.0, 4, 1, 3)}}, clean=(0.0, 4, 2, 2)))}
    )
    assert list(table["eps"]) == [0, 4] and list(table["code_severity"]) == [5, 3]  # highest evaluated if no 5
    assert table.loc[1, "code_mean"] == 1.0 and table.loc[0, "text_neg_minus_pos_pct"] == pytest.approx(-70.0)
    with pytest.raises(ValueError, match="no per_severity entry"):
        analysis.figure3({"clean": preact["clean"], "corrupted": preact["corrupted"]})
    del preact["per_severity"]["snow"]["5"]
    with pytest.raises(ValueError, match="corruption 'snow' has no pre-activation statistics at severity 5"):
        analysis.figure3(preact)


def test_corruption_tables_mark_best_and_second_best():
    def frame(acc_by_name):
        rows = []
        for name, correct in acc_by_name.items():
            for s, c in enumerate(correct, start=1):
                rows.append({"corruption": name, "severity": s, "index": 0, "label": 0, "pred": 0, "correct": c})
        return pd.DataFrame(rows)

    frames = {
        0: frame({"fog": [1, 0], "snow": [1, 1]}),
        2: frame({"fog": [1, 1], "snow": [0, 0]}),
        8: frame({"fog": [0, 0], "snow": [1, 0]}),
    }
    table, marks = tables.corruption_table(frames, ["fog", "snow"])
    assert list(table["corruption"]) == ["fog", "snow", "average"]
    assert list(table.columns) == ["corruption", "eps0", "eps2", "eps8"]
    assert table.loc[2, "eps0"] == pytest.approx(75.0)  # (50 + 100) / 2
    assert list(marks.loc[0]) == ["", "2", "+", ""]  # fog: 50, 100, 0
    assert list(marks.loc[1]) == ["", "+", "", "2"]  # snow: 100, 0, 50
    assert list(marks.loc[2]) == ["", "+", "2", ""]  # average: 75, 50, 25
    md = tables.to_markdown(table, marks=marks)
    assert "**100.00**" in md and "<u>50.00</u>" in md
    average, amarks = tables.corruption_average_table(
        {"a": table.set_index("corruption").loc["average"], "b": pd.Series({"eps0": 10.0, "eps8": 90.0})}
    )
    assert list(average.columns) == ["model", "eps0", "eps2", "eps8"] and pd.isna(average.loc[1, "eps2"])
    assert list(amarks.loc[1]) == ["", "2", "", "+"]


def test_figure3_without_severity_5_takes_the_largest_evaluated_severity():
    """Bug caught: a fallback to the smallest evaluated severity (the mildest corruption) instead of the largest."""
    preact = preact_json({"fog": {1: (9.0, 10, 1, 9), 3: (-2.0, 10, 8, 2)}}, clean=(3.0, 10, 4, 6))
    fig = analysis.figure3(preact)
    assert fig["code"]["severity"] == 3 and fig["code"]["mean"] == pytest.approx(-2.0)
