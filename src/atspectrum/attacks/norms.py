"""The threat models the attacks and adversarial training share: the L∞ ball (the paper's) and the L2 ball, each
intersected with the [0, 1] pixel box.

A strength as configured becomes a [0, 1]-pixel radius by :func:`budget` (L∞: 1/255 units; L2: the radius itself).
Everything that differs between the norms goes through the helpers here: the per-example :func:`distance`, the
projection onto the ball and the box (:func:`project`), the steepest-ascent direction of a gradient
(:func:`ascent_direction`) and the noise of random starts (:func:`unit_noise`). Every function takes ``norm``
(``"linf"`` or ``"l2"``).
"""

from __future__ import annotations

import torch

from atspectrum.specs import NORMS, check_norm

__all__ = [
    "NORMS",
    "ROUNDING",
    "ascent_direction",
    "budget",
    "check_norm",
    "distance",
    "project",
    "rounding_slack",
    "unit_noise",
]

GRAD_FLOOR = 1e-10  # added to a gradient's L2 norm before dividing by it (a zero gradient stays zero)


def budget(strength: float, norm: str) -> float:
    """The [0, 1]-pixel radius of a configured strength: L∞ ``strength / 255`` (the paper's 1/255 units), L2
    ``float(strength)`` (an L2 radius in [0, 1] pixel space, e.g. 0.5)."""
    if check_norm(norm) == "linf":
        return float(strength) / 255.0
    return float(strength)


def _per_example(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (like.dim() - 1)))


def _l2(t: torch.Tensor) -> torch.Tensor:
    """Each example's Euclidean norm (a 1-D tensor)."""
    return t.flatten(1).norm(p=2, dim=1)


def distance(a: torch.Tensor, b: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-example distances between two batches (a 1-D tensor): L∞ the largest ``|a − b|``, L2 the Euclidean norm
    of the flattened difference."""
    diff = a - b
    if check_norm(norm) == "linf":
        return diff.abs().flatten(1).amax(1)
    return _l2(diff)


def project(adv: torch.Tensor, x: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """``adv`` moved into the ``eps``-ball around ``x`` and the [0, 1] box.

    L∞: clipped to ``[max(x − eps, 0), min(x + eps, 1)]`` (the exact projection, bounds as computed in the input's
    dtype). L2: the displacement ``adv − x`` scaled per example by ``min(1, eps / ‖adv − x‖₂)``, then clamped to
    [0, 1]. This is torchattacks' order (PGDL2, and Croce & Hein's APGD-L2); it is feasible, since clamping moves each
    pixel towards ``x`` (which lies in the box) and so only shortens the displacement, but it is not the exact
    Euclidean projection onto the intersection of the ball and the box.
    """
    if check_norm(norm) == "linf":
        return torch.max(torch.min(adv, (x + eps).clamp(max=1)), (x - eps).clamp(min=0))
    delta = adv - x
    factor = (eps / _l2(delta)).clamp(max=1)  # a zero displacement: eps / 0 = inf, clamped to 1
    return (x + delta * _per_example(factor, delta)).clamp(0, 1)


ROUNDING = 1e-6  # per pixel, in [0, 1] units: the float32 rounding of x ± eps a budget check allows, nothing more


def rounding_slack(x: torch.Tensor, norm: str) -> float:
    """What a budget check of the batch ``x`` allows beyond the radius for float32 rounding: :data:`ROUNDING` (L∞),
    or that much in every pixel of an example, ``ROUNDING`` · sqrt(pixels per example) (L2)."""
    if check_norm(norm) == "linf" or not x.numel():
        return ROUNDING
    return ROUNDING * float(x[0].numel()) ** 0.5


def ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The step direction of unit size in ``norm`` along ``grad``: its sign for L∞, the gradient divided by its
    per-example L2 norm (plus :data:`GRAD_FLOOR`) for L2."""
    if check_norm(norm) == "linf":
        return grad.sign()
    return grad / _per_example(_l2(grad) + GRAD_FLOOR, grad)


def unit_noise(
    shape: torch.Size,
    generator: torch.Generator | None,
    norm: str,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Noise in the unit ball of ``norm``, so that ``(x + noise * eps).clamp(0, 1)`` is a random start in the
    ``eps``-ball: L∞ uniform in [−1, 1] per pixel; L2 per example a Gaussian direction normalised to unit L2 norm
    times a radius drawn uniformly from [0, 1] (the directions first, then the radii, from ``generator``)."""
    kw = dict(generator=generator, device=device, dtype=dtype)
    if check_norm(norm) == "linf":
        return torch.rand(shape, **kw).mul_(2).sub_(1)
    direction = torch.randn(shape, **kw)
    direction /= _per_example(_l2(direction).clamp(min=torch.finfo(direction.dtype).tiny), direction)
    return direction.mul_(_per_example(torch.rand(shape[0], **kw), direction))
