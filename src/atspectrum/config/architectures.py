"""The check of the architectures of the user's before the first job (the workflow's ``onstart``; a dry run imports
no torch, so it only checks their spelling and files, :func:`atspectrum.config.validation.check_own_arch`): each is
built on PyTorch's meta device (no memory, no weights), its ``quant_layers`` and ``preact_layer`` must be submodules
whose outputs are tensors, and one forward pass of a batch of the dataset's shape, at every quantization point, must
give one logit per class.
"""

from __future__ import annotations

from atspectrum.config import datasets
from atspectrum.config.grid import corruptions_enabled, model_spec
from atspectrum.config.schema import ConfigError
from atspectrum.specs import is_paper_arch


def check_architectures(config: dict) -> None:
    """ConfigError naming ``models.<name>.arch`` (or ``.arch_kwargs``, ``.quant_layers[i]``, ``.preact_layer``) and
    what would be valid, for the first architecture of the user's that would fail in a job."""
    own = [name for name, m in config["models"].items() if not is_paper_arch(m["arch"])]
    if not own:
        return
    import torch
    from torch import nn

    from atspectrum import models
    from atspectrum.models.generic import check_points

    h, w, c = datasets.image_shape(config["data"])
    classes = datasets.info(config["data"])["num_classes"]
    for name in own:
        m, key = config["models"][name], f"models.{name}"
        layers = m.get("quant_layers") or []
        try:
            with torch.device("meta"):
                model = models.build(**model_spec(config, name))
            check_points(
                model.selectable_quant_points(), {f"quant_layers[{i}]": q for i, q in enumerate(layers)}, m["arch"]
            )
        except models.ArchError as exc:
            raise ConfigError(f"config key '{key}.{exc.key}': {exc}") from None
        except Exception as exc:  # the class's own constructor failed
            raise ConfigError(
                f"config key '{key}.arch_kwargs': building {m['arch']} fails ({type(exc).__name__}: {exc})"
            ) from None
        x = torch.empty(2, c, h, w, device="meta")
        for layer in [None, *layers]:
            try:
                with torch.no_grad():
                    out = model(x, quantize=None if layer is None else (layer, 4.0))
            except Exception as exc:
                what = f"quantized at {layer!r}" if layer else "on a batch"
                raise ConfigError(
                    f"config key '{key}.{'quant_layers' if layer else 'arch'}': {m['arch']} {what} of the data's "
                    f"shape {(2, c, h, w)} fails ({type(exc).__name__}: {exc})"
                ) from None
            if tuple(out.shape) != (2, classes):
                raise ConfigError(
                    f"config key '{key}.arch': {m['arch']} gives outputs of shape {tuple(out.shape)} for a batch of "
                    f"2, not one logit per class (2, {classes})"
                )
        if config["filters"] and not any(isinstance(mod, nn.Conv2d) for mod in model.modules()):
            raise ConfigError(
                f"config key '{key}.arch': {m['arch']} has no nn.Conv2d, so Section 5's filter norms have nothing to "
                f"measure; set filters: false"
            )
        if corruptions_enabled(config):  # Section 6 records the final features: the model must have them
            try:
                model.final_preact
            except models.ArchError as exc:
                raise ConfigError(f"config key '{key}.{exc.key}': {exc}") from None
