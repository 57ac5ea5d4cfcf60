import os

import pytest
import torch

from atspectrum import models
from atspectrum.quantize import Quantizer


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return {"resnet18": models.build("resnet18", 10, 1, width=4).eval(),
            "wrn28_10": models.build("wrn28_10", 10, 1, width=1).eval()}


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


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_quantize_hook_acts_at_every_point_and_only_there(small, arch):
    m = small[arch]
    x = torch.rand(4, 1, 28, 28)
    plain = m(x)
    seen = []
    for layer in m.quant_points:
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
