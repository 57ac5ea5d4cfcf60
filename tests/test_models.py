import copy
import math
import os

import pytest
import torch

from atspectrum import config as C
from atspectrum import models
from atspectrum.attacks.quantize import Quantizer


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return {
        "resnet18": models.build("resnet18", 10, 1, width=4).eval(),
        "wrn28_10": models.build("wrn28_10", 10, 1, width=1).eval(),
    }


def test_paper_resnet18_parameter_count():
    assert models.count_parameters(models.build("resnet18", num_classes=10, in_channels=3)) == 11_173_962


def test_wrn28_10_is_the_36m_parameter_network():
    m = models.build("wrn28_10", 10, 3)
    assert models.count_parameters(m) == 36_479_194
    assert len(m.layer) == 3 and all(len(g) == 4 for g in m.layer)


@pytest.mark.parametrize("arch,width", [("resnet18", 4), ("wrn28_10", 1)])
@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 3, 32, 32)])
def test_output_shapes(arch, width, shape):
    m = models.build(arch, num_classes=7, in_channels=shape[1], width=width).eval()
    assert m(torch.rand(shape)).shape == (2, 7)


def test_quant_points_have_the_papers_names(small):
    assert small["resnet18"].quant_points == ("conv0", "layer1", "layer2", "layer3", "layer4")
    assert small["wrn28_10"].quant_points == ("init_conv", "layer0", "layer1", "layer2")
    # the one extra point is selectable by name, never part of the paper's default grid
    assert small["resnet18"].selectable_quant_points() == (
        "conv0",
        "conv0_post",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
    )
    assert small["wrn28_10"].selectable_quant_points() == small["wrn28_10"].quant_points


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_quantize_hook_acts_at_every_point_and_only_there(small, arch):
    m = small[arch]
    x = torch.rand(4, 1, 28, 28)
    plain = m(x)
    seen = []
    for layer in m.selectable_quant_points():
        coarse = m(x, quantize=Quantizer(layer, 2.0))
        assert not torch.allclose(coarse, plain), layer  # a coarse floor after this layer changes the logits
        seen.append(coarse)
        fine = m(x, quantize=(layer, 1e9, False))
        assert torch.allclose(fine, plain, atol=1e-4), layer  # a negligible step changes nothing
    assert not torch.allclose(seen[0], seen[-1])  # different layers are different points


def test_quantize_rejects_unknown_layer_and_bad_beta(small):
    x = torch.rand(1, 1, 28, 28)
    with pytest.raises(ValueError, match="unknown quantization layer 'layer0'.*conv0"):
        small["resnet18"](x, quantize=("layer0", 8, False))
    with pytest.raises(ValueError, match="beta"):
        small["resnet18"](x, quantize=("conv0", 0, False))


def test_build_rejects_unknown_architecture_and_zero_width():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        models.build("vgg")
    with pytest.raises(ValueError, match="width"):
        models.build("resnet18", width=0)


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_final_preact_is_hookable(small, arch):
    m = small[arch]
    captured = []
    handle = m.final_preact.register_forward_hook(lambda mod, inp, out: captured.append(out))
    m(torch.rand(3, 1, 28, 28))
    handle.remove()
    assert captured and captured[0].shape[0] == 3 and (captured[0] < 0).any()  # before the activation


def test_checkpoint_describes_itself(tmp_path, small):
    m = small["wrn28_10"]
    path = tmp_path / "sub" / "model.pt"
    models.save(path, m, eps=8, note="x")
    loaded = models.load(path)
    assert not loaded.training
    assert isinstance(loaded, models.WideResNet) and loaded.spec == m.spec
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded(x), m(x))
    assert models.read_checkpoint(path)["meta"] == {"eps": 8, "note": "x"}
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's owner-only 0600


def test_truncated_checkpoint_names_the_file(tmp_path, small):
    path = tmp_path / "model.pt"
    models.save(path, small["resnet18"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(models.CheckpointError, match=str(path)):
        models.load(path)
    with pytest.raises(models.CheckpointError, match="does not exist"):
        models.load(tmp_path / "missing.pt")


def test_checkpoint_loading_never_executes_code(tmp_path):

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pt"
    torch.save({"spec": {"arch": "resnet18"}, "state_dict": Evil()}, path)
    with pytest.raises(models.CheckpointError, match="evil.pt"):
        models.load(path)


# --- BatchNorm momentum (issue #12): the paper code's 0.1, a config key, stored in the checkpoint -------------------


def _momenta(model):
    return {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)}


@pytest.mark.parametrize("arch,width", [("resnet18", 2), ("wrn28_10", 1)])
def test_batchnorm_momentum_is_the_papers_unless_set_and_the_checkpoint_keeps_it(tmp_path, arch, width):
    default = models.build(arch, 10, 1, width=width)
    assert _momenta(default) == {0.1} == {models.PAPER_BN_MOMENTUM} and default.spec["bn_momentum"] == 0.1
    slow = models.build(arch, 10, 1, width=width, bn_momentum=0.01)
    assert _momenta(slow) == {0.01}
    models.save(tmp_path / "m.pt", slow)
    loaded = models.load(tmp_path / "m.pt")
    assert _momenta(loaded) == {0.01} and loaded.spec["bn_momentum"] == 0.01
    # a checkpoint written before the key existed rebuilds with the paper's value
    old = models.read_checkpoint(tmp_path / "m.pt")
    del old["spec"]["bn_momentum"]
    assert _momenta(models.from_checkpoint(old)) == {0.1}


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, math.nan, "0.1"])
def test_bad_batchnorm_momentum_is_refused(bad):
    with pytest.raises(ValueError, match=r"bn_momentum must be a number in \(0, 1\]"):
        models.build("wrn28_10", 10, 1, width=1, bn_momentum=bad)


WRN_CONFIG = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"w": {"arch": "wrn28_10", "width": 1, "eps": [0]}},
    "overdesign": {"delta": [4]},
}


def test_bn_momentum_config_key_reaches_the_model():
    cfg = C.validate(copy.deepcopy(WRN_CONFIG), check_data=False)
    assert cfg["models"]["w"]["bn_momentum"] is None
    assert "bn_momentum" not in C.model_spec(cfg, "w")  # null: the rule's params are those of before the key
    assert _momenta(models.build(**C.model_spec(cfg, "w"))) == {0.1}
    cfg = copy.deepcopy(WRN_CONFIG)
    cfg["models"]["w"]["bn_momentum"] = 0.01
    C.validate(cfg, check_data=False)
    assert _momenta(models.build(**C.model_spec(cfg, "w"))) == {0.01}


@pytest.mark.parametrize("bad", [0, 1.5, math.nan, "fast"])
def test_bad_bn_momentum_config_names_the_key(bad):
    cfg = copy.deepcopy(WRN_CONFIG)
    cfg["models"]["w"]["bn_momentum"] = bad
    with pytest.raises(C.ConfigError, match=r"config key 'models\.w\.bn_momentum'"):
        C.validate(cfg, check_data=False)


def test_extra_quant_point_is_selectable_by_config_but_not_a_default():
    cfg = copy.deepcopy(WRN_CONFIG)
    cfg["models"]["r"] = {"arch": "resnet18", "width": 2, "eps": [0], "quant_layers": ["layer2", "conv0_post"]}
    C.validate(cfg, check_data=False)
    assert C.quant_layers(cfg, "r") == ["conv0_post", "layer2"]  # forward order
    assert C.quant_layers(cfg, "w") == ["init_conv", "layer0", "layer1", "layer2"]
    cfg["models"]["r"]["quant_layers"] = None
    assert C.quant_layers(cfg, "r") == ["conv0", "layer1", "layer2", "layer3", "layer4"]
    cfg["models"]["w"]["quant_layers"] = ["conv0_post"]
    with pytest.raises(C.ConfigError, match=r"'models\.w\.quant_layers\[0\]': 'conv0_post' is not a quantization"):
        C.validate(cfg, check_data=False)


# --- the paper code's ResNet18_preReLU: no ReLU between the two blocks of a stage ------------------------------------


def paper_code_resnet18_forward(m, x):
    """The forward of the paper code's ResNet18_preReLU (models/resnet_ours.py, the network PGDAT.py and ST.py
    train), written out from our modules: BasicBlock_withoutReLU blocks, a ReLU only before each stage and the pool."""
    out = m.bn1(m.conv1(x))
    for stage in (m.layer1, m.layer2, m.layer3, m.layer4):
        out = torch.nn.functional.relu(out)
        for block in stage:
            h = torch.nn.functional.relu(block.bn1(block.conv1(out)))
            out = block.bn2(block.conv2(h)) + block.shortcut(out)
    out = torch.nn.functional.relu(out)
    return m.linear(torch.nn.functional.avg_pool2d(out, out.shape[-1]).flatten(1))


def test_resnet18_is_the_paper_codes_network_unless_asked_for_the_standard_one(tmp_path):
    torch.manual_seed(1)
    paper = models.build("resnet18", 10, 1, width=4).eval()
    assert paper.spec["relu_between_blocks"] is False
    x = torch.rand(6, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(paper(x), paper_code_resnet18_forward(paper, x), atol=1e-6)
        standard = models.build("resnet18", 10, 1, width=4, relu_between_blocks=True).eval()
        standard.load_state_dict(paper.state_dict())
        assert not torch.allclose(standard(x), paper(x), atol=1e-5)  # the missing ReLUs change the function
        for net, negative in ((paper, True), (standard, False)):  # what each stage's first block hands on
            seen = []
            hooks = [
                stage[0].register_forward_hook(lambda mod, inp, out: seen.append(out.min().item() < 0))
                for stage in (net.layer1, net.layer2, net.layer3, net.layer4)
            ]
            net(x)
            for h in hooks:
                h.remove()
            assert seen == [negative] * 4
        models.save(tmp_path / "s.pt", standard)
        assert torch.equal(models.load(tmp_path / "s.pt")(x), standard(x))
        # a checkpoint written before the key existed holds the standard network
        old = models.read_checkpoint(tmp_path / "s.pt")
        del old["spec"]["relu_between_blocks"]
        assert torch.equal(models.from_checkpoint(old)(x), standard(x))
    with pytest.raises(ValueError, match="relu_between_blocks must be true, false or None"):
        models.build("resnet18", 10, 1, width=4, relu_between_blocks="yes")


def test_relu_between_blocks_config_key():
    cfg = copy.deepcopy(WRN_CONFIG)
    cfg["models"]["r"] = {"arch": "resnet18", "width": 2, "eps": [0]}
    C.validate(cfg, check_data=False)
    assert C.model_spec(cfg, "r")["relu_between_blocks"] is False  # resolved: a new default retrains
    cfg["models"]["r"]["relu_between_blocks"] = True
    assert models.build(**C.model_spec(cfg, "r")).spec["relu_between_blocks"] is True
    cfg["models"]["w"]["relu_between_blocks"] = False
    with pytest.raises(C.ConfigError, match=r"'models\.w\.relu_between_blocks': applies to resnet18 only"):
        C.validate(cfg, check_data=False)


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.state_dict().values() if p.is_floating_point()])


def test_a_seeded_build_gives_the_same_weights_in_any_process_and_leaves_the_global_state():
    """Training builds each model with the config's seed: its initial weights (torch seeds its global generator
    differently in every process) would otherwise differ from run to run, and so would every table."""
    import subprocess
    import sys

    code = (
        "import torch; from atspectrum import models; m = models.build('resnet18', 10, 1, width=4, seed=7); "
        "print(float(sum(p.double().sum() for p in m.state_dict().values() if p.is_floating_point())))"
    )
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout for _ in range(2)}
    assert len(runs) == 1 and runs != {""}
    state = torch.random.get_rng_state()
    a = models.build("resnet18", 10, 1, width=4, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched
    assert torch.equal(weights(a), weights(models.build("resnet18", 10, 1, width=4, seed=7)))
    assert not torch.equal(weights(a), weights(models.build("resnet18", 10, 1, width=4, seed=8)))
    assert "seed" not in a.spec  # a checkpoint rebuilds the architecture, not the initialization


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_a_missing_cuda_device_is_named_before_any_job(device):
    from atspectrum.runtime import devices

    with pytest.raises(RuntimeError, match=f"device '{device}' requested but this machine has 0"):
        devices.check(device)
    devices.check("cpu")
    devices.check("auto")
