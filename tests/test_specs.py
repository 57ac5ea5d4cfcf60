"""Attack specifications: the values a config section becomes and every attack takes whole."""

import dataclasses

import pytest
import torch

from atspectrum.evaluation import evaluate
from atspectrum.specs import APGDSpec, PGDSpec


def test_a_spec_is_built_from_its_config_section_and_ignores_other_keys():
    assert PGDSpec.of({"steps": 10, "step_factor": 0.25, "random_start": True, "bn_eval": True}) == PGDSpec(10, 0.25)
    assert PGDSpec.of({"steps": 20, "step_factor": 0.1}).random_start is True
    assert APGDSpec.of({"steps": 100, "restarts": 1, "losses": ["ce", "dlr"], "beta": [8]}) == APGDSpec()
    assert APGDSpec(losses=["dlr"]).losses == ("dlr",)  # a list from YAML becomes a tuple: the spec stays hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        PGDSpec(10, 0.25).steps = 20


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PGDSpec(-1, 0.25), "steps must be an integer >= 0"),
        (lambda: PGDSpec(2.5, 0.25), "steps must be an integer >= 0"),
        (lambda: PGDSpec(True, 0.25), "steps must be an integer >= 0"),
        (lambda: PGDSpec(10, 0), "step_factor must be a finite number > 0"),
        (lambda: PGDSpec(10, float("nan")), "step_factor must be a finite number > 0"),
        (lambda: PGDSpec(10, 0.25, "yes"), "random_start must be true or false"),
        (lambda: APGDSpec(0), "steps must be an integer >= 1"),
        (lambda: APGDSpec(10, 0), "restarts must be an integer >= 1"),
        (lambda: APGDSpec(10, 1, ["cw"]), "losses must be a non-empty subset"),
        (lambda: APGDSpec(10, 1, []), "losses must be a non-empty subset"),
    ],
)
def test_a_bad_spec_fails_when_built_naming_the_setting(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_attacks_take_a_spec_not_loose_settings():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    images, labels = torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 1])
    with pytest.raises(TypeError, match="spec must be a PGDSpec"):
        evaluate.attack_per_example(net, images, labels, 8, {"steps": 2, "step_factor": 0.25})
    with pytest.raises(TypeError, match="spec must be an APGDSpec"):
        evaluate.apgd_per_example(net, images, labels, 8, PGDSpec(2, 0.25))
