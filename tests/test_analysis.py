import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from atspectrum import analysis, models, tables


def test_filter_norms_of_hand_set_weights():
    net = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.Conv2d(3, 1, 1, bias=False), nn.Conv2d(1, 2, 3))
    with torch.no_grad():
        w = torch.zeros(3, 2, 3, 3)
        for o in range(3):
            for i in range(2):
                w[o, i, o, i] = -(o + 1) * (i + 1)  # slice (o, i) has L∞ norm (o+1)(i+1)
        net[0].weight.copy_(w)
        net[1].weight.fill_(5.0)
        net[2].weight.copy_(torch.tensor([0.5, -2.0]).view(2, 1, 1, 1) * torch.ones(2, 1, 3, 3))
    frame = analysis.filter_norms(net)
    first = frame.iloc[0]
    assert (first["kind"], first["index"], first["slices"]) == ("3x3", 1, 6)
    assert first["mean"] == pytest.approx(np.mean([(o + 1) * (i + 1) for o in range(3) for i in range(2)]))
    assert first["max"] == pytest.approx(6.0)
    shortcut = frame.iloc[1]
    assert shortcut["kind"] == "1x1" and pd.isna(shortcut["index"]) and shortcut["max"] == 5.0
    last = frame.iloc[2]
    assert (last["index"], last["mean"], last["max"]) == (2, 1.25, 2.0)


def test_filter_norms_cover_every_conv_of_the_paper_models():
    frame = analysis.filter_norms(models.build("resnet18", 10, 3, width=4))
    assert (frame["kind"] == "3x3").sum() == 17 and (frame["kind"] == "1x1").sum() == 3
    assert list(frame.loc[frame["kind"] == "3x3", "index"]) == list(range(1, 18))
    assert frame.iloc[0]["layer"] == "conv1"


def test_streaming_preact_statistics_equal_one_pass():
    torch.manual_seed(0)
    net = models.build("resnet18", 10, 1, width=4).eval()
    x = torch.rand(37, 1, 28, 28)
    stats = analysis.PreactStats()
    with analysis.recording_preact(net, stats), torch.no_grad():
        for start in range(0, 37, 8):
            net(x[start:start + 8])
    captured = []
    handle = net.final_preact.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        net(x)
    handle.remove()
    full = captured[0]
    result = stats.result()
    assert result["units"] == full.numel()
    assert result["mean"] == pytest.approx(full.double().mean().item(), rel=1e-6)
    assert result["near_zero_fraction"] == pytest.approx((full.abs() <= 0.1).double().mean().item())
    with torch.no_grad():
        net(x[:2])  # the hook is gone: nothing more is recorded
    assert stats.result()["units"] == full.numel()


def test_corruption_tables_mark_best_and_second_best():
    def frame(acc_by_name):
        rows = []
        for name, correct in acc_by_name.items():
            for s, c in enumerate(correct, start=1):
                rows.append({"corruption": name, "severity": s, "index": 0, "label": 0, "pred": 0, "correct": c})
        return pd.DataFrame(rows)

    frames = {0: frame({"fog": [1, 0], "snow": [1, 1]}), 2: frame({"fog": [1, 1], "snow": [0, 0]}),
              8: frame({"fog": [0, 0], "snow": [1, 0]})}
    table, marks = tables.corruption_table(frames, ["fog", "snow"])
    assert list(table["corruption"]) == ["fog", "snow", "average"]
    assert list(table.columns) == ["corruption", "eps0", "eps2", "eps8"]
    assert table.loc[2, "eps0"] == pytest.approx(75.0)  # (50 + 100) / 2
    assert list(marks.loc[0]) == ["", "2", "+", ""]  # fog: 50, 100, 0
    assert list(marks.loc[1]) == ["", "+", "", "2"]  # snow: 100, 0, 50
    assert list(marks.loc[2]) == ["", "+", "2", ""]  # average: 75, 50, 25
    md = tables.to_markdown(table, marks=marks)
    assert "**100.00**" in md and "<u>50.00</u>" in md
    average, amarks = tables.corruption_average_table({"a": table.set_index("corruption").loc["average"],
                                                        "b": pd.Series({"eps0": 10.0, "eps8": 90.0})})
    assert list(average.columns) == ["model", "eps0", "eps2", "eps8"] and pd.isna(average.loc[1, "eps2"])
    assert list(amarks.loc[1]) == ["", "2", "", "+"]
