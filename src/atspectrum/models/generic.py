"""Architectures beyond the paper's two: any torchvision classification model and a class of the user's own.

``arch`` is ``torchvision:<name>`` (``torchvision.models.get_model(name, weights=None, num_classes=...)``),
``path/to/file.py:ClassName`` (a file, relative to the working directory) or ``package.module:ClassName`` (an
importable module). :class:`HookedModel` wraps the network (``self.net``) so that it behaves as the paper's models:

- **Quantization points** are the names of its submodules (``named_modules()``, e.g. ``features.3``); quantizing at
  one applies ``floor(β·x)/β`` to that submodule's output through a forward hook, present only during that forward
  pass (straight-through for BPDA, as the paper's models do).
- **Input**: the first ``nn.Conv2d`` of a torchvision model that expects 3 channels is rebuilt for the dataset's
  channel count; with ``small_stem`` (torchvision's ResNet family on images of at most 64 pixels, chosen by the
  configuration) its 7×7 stride-2 stem becomes the CIFAR convention's 3×3 stride-1 conv and its max-pool is dropped.
  A user's class is called with ``num_classes`` and ``in_channels`` where its ``__init__`` accepts them, and with
  ``arch_kwargs`` (passed to torchvision's builder too).
- **Final pre-activations** (Section 6) are the input of its last ``nn.Linear`` (the features entering the classifier)
  unless ``preact_layer`` names a submodule whose output they are instead.

Loading a checkpoint of such a model imports the class named in it (the user's code runs; the weights are still read
with ``weights_only=True``).
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from atspectrum.attacks import quantize as _quantize
from atspectrum.runtime import user_code
from atspectrum.specs import bn_momentum as _bn_momentum
from atspectrum.specs import is_paper_arch, split_arch

from .base import SpectrumModel

TORCHVISION = "torchvision"


class ArchError(ValueError):
    """An ``arch`` that names no buildable model (a missing file, module or class, an unknown torchvision model);
    ``key`` is the model's config key at fault (``arch``, ``arch_kwargs``, ``preact_layer``, ``quant_layers``)."""

    def __init__(self, message: str, key: str = "arch"):
        super().__init__(message)
        self.key = key


def constructor(arch: str):
    """The callable that builds ``arch``'s network: ``torchvision.models.get_model`` bound to its name, or the user's
    class. ArchError naming what is missing and what would be valid."""
    source, name = split_arch(arch)
    if source == TORCHVISION:
        import torchvision

        known = torchvision.models.list_models(module=torchvision.models)
        if name not in known:
            raise ArchError(f"torchvision has no classification model {name!r}; choose one of {known}")
        return lambda **kw: torchvision.models.get_model(name, weights=None, **kw)
    try:
        module = user_code.load_module(source, "architecture")
    except user_code.UserCodeError as exc:
        raise ArchError(str(exc)) from exc
    found = getattr(module, name, None)
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        classes = user_code.classes(module, nn.Module)
        what = "is not an nn.Module class" if found is not None else "does not exist"
        raise ArchError(f"{name!r} in {source!r} {what}; the nn.Module classes there are {classes}")
    return found


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)


def _first_conv(net: nn.Module) -> tuple[str, nn.Conv2d] | None:
    return next(((n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)), None)


def _conv_like(conv: nn.Conv2d, in_channels: int, **changes) -> nn.Conv2d:
    args = dict(
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    return nn.Conv2d(in_channels, conv.out_channels, **(args | changes))


def build_network(
    arch: str, num_classes: int, in_channels: int, kwargs: dict | None = None, small_stem: bool = False
) -> nn.Module:
    """The bare network of ``arch`` (see the module's docstring)."""
    kwargs = dict(kwargs or {})
    make = constructor(arch)
    if split_arch(arch)[0] == TORCHVISION:
        net = make(num_classes=num_classes, **kwargs)
        first = _first_conv(net)
        if small_stem:
            if first is None or not hasattr(net, "maxpool"):
                raise ArchError(f"{arch} has no ResNet stem (conv1 and maxpool) to adapt to small images")
            _replace(net, first[0], _conv_like(first[1], in_channels, kernel_size=3, stride=1, padding=1))
            net.maxpool = nn.Identity()
        elif first is not None and first[1].in_channels != in_channels:
            _replace(net, first[0], _conv_like(first[1], in_channels))
        return net
    accepted = inspect.signature(make).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
    for key, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if (key in accepted or takes_any) and key not in kwargs:
            kwargs[key] = value
    try:
        return make(**kwargs)
    except TypeError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise ArchError(f"{arch}({shown}) fails: {exc}", key="arch_kwargs") from exc


def submodule_names(net: nn.Module) -> list[str]:
    """Every quantization point of a network: its submodules' names, in registration order."""
    return [n for n, _ in net.named_modules() if n]


class HookedModel(SpectrumModel):
    """A network of ``arch`` as an atspectrum model (quantization by forward hooks; see the module's docstring)."""

    def __init__(
        self,
        arch: str,
        num_classes: int = 10,
        in_channels: int = 3,
        arch_kwargs: dict | None = None,
        small_stem: bool = False,
        bn_momentum: float | None = None,
        preact_layer: str | None = None,
    ):
        if is_paper_arch(arch):
            raise ArchError(f"{arch} is one of the paper's architectures: build it with atspectrum.models.build")
        spec = dict(arch=arch, num_classes=num_classes, in_channels=in_channels, arch_kwargs=dict(arch_kwargs or {}))
        spec |= {"small_stem": True} if small_stem else {}
        spec |= {"bn_momentum": bn_momentum} if bn_momentum is not None else {}
        spec |= {"preact_layer": preact_layer} if preact_layer is not None else {}
        super().__init__(spec)
        self.net = build_network(arch, num_classes, in_channels, arch_kwargs, small_stem)
        if bn_momentum is not None:
            for m in self.net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.momentum = _bn_momentum(bn_momentum)
        self._points = submodule_names(self.net)
        self.preact = nn.Identity()  # the features of Section 6 pass through it (see final_preact)
        if preact_layer is not None:
            check_points(self._points, {"preact_layer": preact_layer}, arch)
            self._preact_at = (preact_layer, "output")
        else:
            linear = [n for n, m in self.net.named_modules() if isinstance(m, nn.Linear)]
            self._preact_at = (linear[-1], "input") if linear else None

    def selectable_quant_points(self) -> tuple[str, ...]:
        return tuple(self._points)

    @property
    def final_preact(self) -> nn.Module:
        if self._preact_at is None:
            raise ArchError(
                f"{self.spec['arch']} has no nn.Linear whose input would be its final features; set "
                f"models.<name>.preact_layer to the submodule whose output they are",
                key="preact_layer",
            )
        return self.preact

    def _hooks(self, q) -> list:
        """The forward pass's hooks (removed after it, so that a copy of the model never calls into this one): the
        features through ``self.preact`` (when anything listens to it), the quantization."""
        handles = []
        if self._preact_at is not None and self.preact._forward_hooks:
            name, where = self._preact_at
            module = self.net.get_submodule(name)
            if where == "input":
                handles.append(module.register_forward_pre_hook(lambda m, inp: (self.preact(inp[0]), *inp[1:])))
            else:
                handles.append(module.register_forward_hook(lambda m, inp, out: self.preact(out)))
        if q is not None:

            def quantize(module, inp, out):
                if not isinstance(out, torch.Tensor):
                    raise TypeError(f"quantization point {q.layer!r} outputs {type(out).__name__}, not a tensor")
                return _quantize.scaled_floor(out, q.beta, q.straight_through)

            handles.append(self.net.get_submodule(q.layer).register_forward_hook(quantize))
        return handles

    def forward(self, x: torch.Tensor, quantize=None) -> torch.Tensor:
        self._check_quantize(quantize)
        handles = self._hooks(_quantize.check_quantizer(quantize))
        try:
            return self.net(x)
        finally:
            for handle in handles:
                handle.remove()


def check_points(points, names: dict[str, str], arch: str) -> None:
    """Every name of ``names`` (config key → submodule name) is one of ``points``; an ArchError about the key of the
    first that is not, listing the valid names."""
    for key, name in names.items():
        if name not in points:
            shown = list(points) if len(points) <= 60 else [*points[:60], f"... ({len(points) - 60} more)"]
            raise ArchError(f"{name!r} is not a submodule of {arch}; valid names (named_modules()): {shown}", key=key)
