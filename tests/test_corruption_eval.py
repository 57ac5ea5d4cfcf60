import pandas as pd
import pytest
import torch
from synthetic import bars

from atspectrum import analysis, models
from atspectrum.data import cifar10c
from atspectrum.evaluation.corruption import evaluate_corruptions

NAMES, SEVERITIES = ["contrast", "gaussian_noise"], [1, 5]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A small random ResNet evaluated on 12 clean images and our generated corruptions of them (as the workflow's
    prepare_corruptions and evaluate_corruptions do), in uneven batches."""
    root = tmp_path_factory.mktemp("corrupted")
    images, labels = bars(12, 3)
    cifar10c.write(root, images, labels, seed=1, corruptions=NAMES, severities=SEVERITIES)
    torch.manual_seed(2)
    model = models.build("resnet18", 3, 1, width=2)
    for m in model.modules():  # BatchNorm statistics of these images, so that predictions vary between images
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    with torch.no_grad():
        model.train()(images.float() / 255)
        model.linear.bias.zero_()
    model.eval()
    frame, preact = evaluate_corruptions(
        model, (images, labels), lambda n, s: cifar10c.load(root, n, s), NAMES, SEVERITIES, batch_size=5
    )
    return root, images, labels, model, frame, preact


def direct(model, images):
    """Predictions and pre-activation statistics of one pass over ``images``, without evaluate_corruptions."""
    stats = analysis.PreactStats()
    with analysis.recording_preact(model, stats), torch.no_grad():
        pred = model(images.float() / 255).argmax(1)
    return pred, stats


def test_rows_pair_clean_and_corrupted_images_by_index(evaluated):
    root, images, labels, model, frame, _ = evaluated
    assert len(frame) == 12 * (1 + len(NAMES) * len(SEVERITIES))
    clean = frame[frame["corruption"] == "clean"].set_index("index")
    assert sorted(clean.index) == list(range(12)) and (clean["severity"] == 0).all()
    pred, _ = direct(model, images)
    assert clean["pred"].tolist() == pred.tolist() and clean["label"].tolist() == labels.tolist()
    varied = 0
    for name in NAMES:
        for s in SEVERITIES:
            rows = frame[(frame["corruption"] == name) & (frame["severity"] == s)].set_index("index")
            assert sorted(rows.index) == list(range(12))
            x, y = cifar10c.load(root, name, s)
            pred, _ = direct(model, x)
            varied += pred.unique().numel() > 1
            # row `index` k is corrupted image k, which is clean image k corrupted: same label as clean row k
            assert rows.loc[range(12), "pred"].tolist() == pred.tolist(), (name, s)
            assert rows.loc[range(12), "label"].tolist() == clean.loc[range(12), "label"].tolist() == y.tolist()
            assert (rows["correct"] == (rows["pred"] == rows["label"])).all()
    assert varied >= 2  # predictions differ between images, so a mispaired index would show


def test_preact_statistics_per_corruption_and_severity_equal_direct_passes(evaluated):
    root, images, labels, model, frame, preact = evaluated
    assert preact["clean"] == direct(model, images)[1].result()
    everything = analysis.PreactStats()
    for name in NAMES:
        pooled = analysis.PreactStats()
        for s in SEVERITIES:
            stats = direct(model, cifar10c.load(root, name, s)[0])[1]
            got = preact["per_severity"][name][str(s)]
            assert {k: got[k] for k in ("units", "negative", "positive")} == {
                "units": stats.count,
                "negative": stats.negative,
                "positive": stats.positive,
            }, (name, s)
            assert got["mean"] == pytest.approx(stats.result()["mean"], rel=1e-9)
            pooled.merge(stats)
        assert preact["per_corruption"][name]["units"] == pooled.count
        assert preact["per_corruption"][name]["neg_minus_pos"] == pooled.negative - pooled.positive
        assert preact["per_corruption"][name]["mean"] == pytest.approx(pooled.result()["mean"], rel=1e-9)
        everything.merge(pooled)
    assert preact["corrupted"]["neg_minus_pos"] == everything.negative - everything.positive
    assert preact["corrupted"]["mean"] == pytest.approx(everything.result()["mean"], rel=1e-9)
    fig = analysis.figure3(preact)
    five = [preact["per_severity"][n]["5"] for n in NAMES]
    assert fig["code"]["mean"] == pytest.approx(sum(c["mean"] for c in five) / 2)
    assert fig["text"]["mean"] == preact["corrupted"]["mean"]
    assert pd.notna(fig["code"]["neg_minus_pos_fraction"])
