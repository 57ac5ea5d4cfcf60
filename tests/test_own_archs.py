"""Architectures of the user's and torchvision's (issue #24, part 2): built from the data's classes and channels,
quantized at a submodule by a forward hook, checkpointed, planned without torch, and every misconfiguration named
before the first job."""

import copy

import pytest
import torch
from synthetic import OWN_NET
from torch import nn

from atspectrum import config as atconfig
from atspectrum import models
from atspectrum.attacks.quantize import Quantizer, scaled_floor

NET = (
    OWN_NET
    + """

class NoConv(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(28 * 28, num_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class WrongOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)

    def forward(self, x):
        return self.conv(x)


NOT_A_MODEL = 3
"""
)


@pytest.fixture
def net_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a file architecture is found relative to the working directory
    (tmp_path / "mine.py").write_text(NET)
    return "mine.py"


def test_quantizing_a_submodule_is_floor_of_its_output_and_only_during_that_pass(net_file):
    torch.manual_seed(0)
    model = models.build(f"{net_file}:Net", num_classes=5, in_channels=1, seed=0).eval()
    net, x = model.net, torch.rand(6, 1, 12, 12)
    plain = model(x)
    expected = net.head(net.body[3:](scaled_floor(net.body[:3](x), 2.0)).mean(dim=(2, 3)))
    assert torch.allclose(model(x, quantize=("body.2", 2.0)), expected, atol=1e-6)
    assert not torch.allclose(expected, plain, atol=1e-3)  # the quantization changed something
    assert torch.equal(model(x), plain)  # the hook is gone after the pass
    # BPDA's straight-through quantizer: the backward pass treats the floor as the identity, the forward pass is
    # quantized; without it the floor passes no gradient at all
    a, b, c = (x.clone().requires_grad_() for _ in range(3))
    model(a, quantize=Quantizer("body.2", 2.0, True)).sum().backward()
    z = net.body[:3](b)
    net.head(net.body[3:](z + (scaled_floor(z, 2.0) - z).detach()).mean(dim=(2, 3))).sum().backward()
    assert a.grad.abs().sum() > 0 and torch.allclose(a.grad, b.grad, atol=1e-7)
    model(c, quantize=Quantizer("body.2", 2.0, False)).sum().backward()
    assert not c.grad.any()
    with pytest.raises(ValueError, match="unknown quantization layer 'body.9'"):
        model(x, quantize=("body.9", 2.0))


def test_final_features_are_the_classifier_input_or_the_named_submodule_and_a_copy_is_independent(net_file):
    from atspectrum import analysis

    model = models.build(f"{net_file}:Net", num_classes=5, in_channels=1, seed=0).eval()
    x = torch.rand(3, 1, 12, 12)
    stats = analysis.PreactStats()
    with analysis.recording_preact(model, stats):
        model(x)
    features = model.net.body(x).mean(dim=(2, 3))
    assert stats.count == features.numel() and stats.total == pytest.approx(features.double().sum().item())
    named = models.build(f"{net_file}:Net", num_classes=5, in_channels=1, seed=0, preact_layer="body.3").eval()
    copied, stats, other = copy.deepcopy(named), analysis.PreactStats(), analysis.PreactStats()
    with analysis.recording_preact(named, stats), analysis.recording_preact(copied, other):
        named(x)
    assert stats.count == model.net.body[:4](x).numel() and other.count == 0  # the copy is not wired to the original


def test_torchvision_models_take_the_datas_channels_and_resnets_the_cifar_stem(tmp_path):
    mobile = models.build("torchvision:mobilenet_v2", num_classes=7, in_channels=1, arch_kwargs={"width_mult": 0.25})
    assert mobile.net.features[0][0].in_channels == 1
    assert mobile.eval()(torch.rand(2, 1, 28, 28)).shape == (2, 7)
    resnet = models.build("torchvision:resnet18", num_classes=10, in_channels=3, small_stem=True)
    conv = resnet.net.conv1
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 3), (1, 1), (1, 1))
    assert isinstance(resnet.net.maxpool, nn.Identity)
    models.save(tmp_path / "m.pt", resnet.eval())
    loaded, x = models.load(tmp_path / "m.pt"), torch.rand(2, 3, 32, 32)
    assert loaded.spec["small_stem"] and torch.equal(loaded(x), resnet(x))
    cfg = atconfig.validate(
        {
            "data": {"dataset": "fashion_mnist"},
            "models": {
                "r": {"arch": "torchvision:resnet18", "eps": [0]},
                "m": {"arch": "torchvision:mobilenet_v2", "eps": [0], "arch_kwargs": {"width_mult": 0.5}},
            },
        },
        check_data=False,
    )
    assert atconfig.model_spec(cfg, "r") == {
        "name": "torchvision:resnet18", "width": None, "num_classes": 10, "in_channels": 1, "small_stem": True,
    }  # fmt: skip
    assert "small_stem" not in atconfig.model_spec(cfg, "m")
    assert atconfig.model_spec(cfg, "m")["arch_kwargs"] == {"width_mult": 0.5}
    assert atconfig.quant_layers(cfg, "m") == []  # no paper points: none unless listed
    assert atconfig.train_runtime_minutes(cfg, "m", 8) > 30  # a fallback rate, not a KeyError


def _config(arch, **model):
    return {
        "data": {"dataset": "fashion_mnist"},
        "models": {"own": {"arch": arch, "eps": [0, 8], **model}},
        "corruptions": {"names": ["gaussian_noise"], "severities": [1]},
    }


@pytest.mark.parametrize(
    "arch, model, key, message",
    [
        ("resnet50", {}, "arch", r"'resnet50' is not an architecture; use one of \['resnet18', 'wrn28_10'\]"),
        ("missing.py:Net", {}, "arch", "file 'missing.py' does not exist"),
        ("no_such_package.models:Net", {}, "arch", "no module named 'no_such_package'"),
        ("mine.py:Net", {"width": 4}, "width", "paper's architectures only"),
        ("resnet18", {"arch_kwargs": {"a": 1}}, "arch_kwargs", "not resnet18"),
    ],
)
def test_what_a_dry_run_can_tell_is_refused_at_planning(net_file, arch, model, key, message):
    with pytest.raises(atconfig.ConfigError, match=f"config key 'models.own.{key}'.*{message}"):
        atconfig.validate(_config(arch, **model), check_data=False)


@pytest.mark.parametrize(
    "arch, model, key, message",
    [
        ("mine.py:Nett", {}, "arch", r"'Nett' in 'mine.py' does not exist; the nn.Module classes there are \['Net',"),
        ("mine.py:NOT_A_MODEL", {}, "arch", "is not an nn.Module class"),
        ("torchvision:mobilenet_v9", {}, "arch", "torchvision has no classification model 'mobilenet_v9'"),
        ("atspectrum.models:Nope", {}, "arch", "'Nope' in 'atspectrum.models' does not exist"),
        ("mine.py:Net", {"quant_layers": ["body.0", "body.7"]}, r"quant_layers\[1\]", r"'body.7'.*'body.0', 'body.1'"),
        ("mine.py:Net", {"preact_layer": "tail"}, "preact_layer", "'tail' is not a submodule"),
        ("mine.py:Net", {"arch_kwargs": {"depth": 3}}, "arch_kwargs", "unexpected keyword argument 'depth'"),
        ("mine.py:NoConv", {}, "arch", "no nn.Conv2d.*filters: false"),
        ("mine.py:WrongOutput", {}, "arch", r"outputs of shape \(2, 3, 26, 26\).*\(2, 10\)"),
    ],
)
def test_what_needs_the_class_is_refused_before_the_first_job(net_file, arch, model, key, message):
    cfg = atconfig.validate(_config(arch, **model), check_data=False)  # a dry run plans it
    with pytest.raises(atconfig.ConfigError, match=f"config key 'models.own.{key}'.*{message}"):
        atconfig.check_architectures(cfg)


def test_a_good_own_architecture_passes_the_checks_and_a_checkpoint_rebuilds_it(net_file, tmp_path):
    model = {"quant_layers": ["body.2"], "arch_kwargs": {"width": 3}}
    cfg = atconfig.validate(_config(f"{net_file}:Net", **model), check_data=False)
    atconfig.check_architectures(cfg)
    spec = atconfig.model_spec(cfg, "own")
    model = models.build(**spec, seed=1).eval()
    assert model.net.head.in_features == 3 and model.spec["arch_kwargs"] == {"width": 3}
    models.save(tmp_path / "m.pt", model)
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(models.load(tmp_path / "m.pt")(x, quantize=("body.2", 4.0)), model(x, quantize=("body.2", 4.0)))
    assert atconfig.arch_files(cfg, "own") == [net_file]
