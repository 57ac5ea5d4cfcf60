"""Standard training (ε = 0) and PGD adversarial training (Madry et al.) with the paper's Table 5 recipe, TRADES and
FGSM-RS, against the L∞ threat model (the paper's) or the L2 one (``TrainConfig.norm``: the training attack, its
random start and projection and the validation attack all use that norm; ε is then an L2 radius in [0, 1] pixels).

Every epoch ends with an atomic checkpoint of the whole training state, so an interrupted job resumes from its last
complete epoch and reaches the same weights as an uninterrupted one. SIGTERM and SIGUSR1 (what SLURM sends before a
time limit, at it, on preemption or on ``scancel``) stop training before the next batch with :class:`Interrupted`; a
SIGKILL at any moment loses at most the epoch in progress. All randomness (shuffling, augmentation, PGD
random starts) is drawn from generators seeded by (seed, epoch), never from global state. The returned model carries
the weights selected by validation robust accuracy (``best_val``; on ties the earlier epoch) or those of the last
epoch (``last``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import signal
import threading
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from atspectrum import attacks
from atspectrum.data.augment import random_crop_flip
from atspectrum.evaluation import evaluate
from atspectrum.models import CheckpointError
from atspectrum.runtime import devices
from atspectrum.runtime.io import atomic_path, remove_stale_temporaries
from atspectrum.specs import PGDSpec, TrainConfig  # torch-free: the configuration builds it too

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)  # SLURM: the --signal warning, the time limit, preemption, scancel


class Diverged(ValueError):
    """The training loss or the weights stopped being finite: nothing of that epoch is saved or selected."""


def _check_finite(model: nn.Module, mean_loss: float, epoch: int, epochs: int) -> None:
    """Raises :class:`Diverged`, naming the epoch (1-based), when the epoch's mean loss or any weight or buffer is
    NaN or infinite; called before the epoch can be checkpointed or selected."""
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if math.isfinite(mean_loss) and not bad:
        return
    raise Diverged(
        f"training diverged in epoch {epoch + 1} of {epochs}: mean loss {mean_loss!r}"
        + (f", non-finite values in {', '.join(bad[:3])}" + (" ..." if len(bad) > 3 else "") if bad else "")
        + "; nothing of this epoch was saved or selected (lower train.lr, or check the data)"
    )


class Interrupted(Exception):
    """Training stopped by a signal; the state file holds the last complete epoch and the next call resumes there."""

    def __init__(self, signum: int, completed_epochs: int, epochs: int, state_path: str | None):
        self.signum, self.completed_epochs = int(signum), completed_epochs
        kept = (
            f"{state_path} holds epoch {completed_epochs} of {epochs}, the next run resumes from it"
            if state_path and completed_epochs
            else "no epoch is saved, the next run starts from epoch 0"
        )
        super().__init__(f"received {signal.Signals(signum).name}: training stopped; {kept}")


@contextlib.contextmanager
def _stop_requests(signals: tuple[int, ...]):
    """While training, record ``signals`` in the yielded list instead of dying on them (the epoch loop checks it before
    every batch). Python handlers exist only in the main thread: elsewhere the signals keep their default action."""
    received: list[int] = []
    if not signals or threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in signals}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 101 + stream) % (2**63)


def validate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: TrainConfig, device: torch.device
) -> tuple[float, float]:
    """Clean and PGD_ε accuracy (%) on the validation split (in the configured norm), with the same random starts
    every epoch."""
    if len(labels) == 0:
        return float("nan"), float("nan")
    seed = _epoch_seed(cfg.seed, 0, 1)
    clean = evaluate.accuracy(
        evaluate.classify_per_example(model, images, labels, batch_size=cfg.eval_batch_size, device=device)
    )
    if cfg.eps == 0:
        return clean, clean
    robust = evaluate.accuracy(
        evaluate.pgd_per_example(
            model,
            images,
            labels,
            cfg.eps,
            PGDSpec(cfg.val_attack_steps, cfg.val_attack_step_factor),
            batch_size=cfg.eval_batch_size,
            seed=seed,
            device=device,
            norm=cfg.norm,
        )
    )
    return clean, robust


def _config_record(cfg: TrainConfig) -> dict:
    """What defines a training run: :meth:`TrainConfig.params` (the batch size of validation is speed only)."""
    return cfg.params()


def _load_state(path: str) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"training state {path} is corrupt or truncated ({type(exc).__name__}: {exc}); it is left in place: "
            f"delete it to restart this model's training from epoch 0"
        ) from exc


def train(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    state_path: str | None = None,
    device: str | torch.device = "cpu",
    on_epoch_end: Callable[[dict], None] | None = None,
    log: Callable[[str], None] | None = None,
    stop_signals: tuple[int, ...] = STOP_SIGNALS,
) -> tuple[nn.Module, list[dict], dict]:
    """Train ``model`` in place; returns ``(model with selected weights, per-epoch log rows, summary)``.

    ``train_data``/``val_data`` are (uint8 N×C×H×W images, int64 labels). ``state_path`` (optional) is the resume
    checkpoint, rewritten atomically after every epoch; if it exists, training continues from it.
    A signal in ``stop_signals`` (main thread only; ``()`` leaves signals alone) stops training before the next batch:
    the epoch in progress is dropped, never checkpointed, and :class:`Interrupted` is raised.
    """
    with _stop_requests(stop_signals) as stop:
        return _train(model, train_data, val_data, cfg, state_path, device, on_epoch_end, log, stop)


@dataclasses.dataclass(frozen=True)
class _Run:
    """What every epoch of one training run shares."""

    model: nn.Module
    net: nn.Module  # ``model``, compiled when ``cfg.compile``
    opt: torch.optim.Optimizer
    cfg: TrainConfig
    device: torch.device
    memory_format: torch.memory_format
    forward: Callable  # ``forward(m, x)``: ``m(x)`` under the configured autocast
    eps: float  # the training ε in [0, 1] pixel units (the radius of a ball of ``cfg.norm``)


def _resume(model, opt, sched, cfg: TrainConfig, state_path: str | None, log) -> tuple[int, list[dict], dict]:
    """Loads the state at ``state_path`` into ``model``, ``opt`` and ``sched`` when there is one written with these
    hyperparameters (another one is set aside); returns ``(first epoch to run, log rows so far, best epoch so far)``."""
    rows: list[dict] = []
    start_epoch, best = 0, {"score": -math.inf, "epoch": -1, "state": None}
    if state_path:
        remove_stale_temporaries(state_path)  # a job killed while writing its state leaves one behind
    if state_path and os.path.exists(state_path):
        state = _load_state(state_path)
        if state.get("config") != _config_record(cfg):
            stale = f"{state_path}.stale-{time.strftime('%Y%m%d-%H%M%S')}"
            os.replace(state_path, stale)
            if log:
                log(
                    f"training state {state_path} was written with other hyperparameters: kept as {stale}, "
                    f"training restarts from epoch 0"
                )
            state = None
    else:
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, rows = state["epoch"], list(state["log"])
        best = {"score": state["best_score"], "epoch": state["best_epoch"], "state": state["best_model"]}
        if log:
            log(f"resuming from {state_path} after epoch {start_epoch}")
    return start_epoch, rows, best


def _train_epoch(run: _Run, xs, ys, epoch: int, stop: list[int], state_path: str | None, log):
    """One epoch's optimisation steps; returns ``(loss sum, correct count)`` as device tensors, the number of examples
    seen and the seconds spent preparing batches. Raises :class:`Interrupted` before a batch once ``stop`` is set."""
    cfg, device = run.cfg, run.device
    n = len(ys)
    data_seconds = 0.0
    gen = devices.generator(device, _epoch_seed(cfg.seed, epoch, 0))
    order = torch.randperm(n, generator=gen, device=device)
    # running sums stay on the device: no host synchronisation inside the epoch
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for start in range(0, n, cfg.batch_size):
        if stop:  # epochs 1..epoch are complete (and in state_path when it is set): stop here
            interrupted = Interrupted(stop[0], epoch, cfg.epochs, state_path)
            if log:
                log(str(interrupted))
            raise interrupted
        td = time.perf_counter()
        idx = order[start : start + cfg.batch_size]
        x = random_crop_flip(xs[idx].float().div_(255), cfg.crop_padding, cfg.flip, gen)
        x = x.contiguous(memory_format=run.memory_format)
        y = ys[idx]
        data_seconds += time.perf_counter() - td
        if cfg.eps > 0 and cfg.method == "trades":
            loss, logits = trades_loss(run, x, y, gen)
        else:  # PGD-AT (FGSM-RS: its one step from a uniform start), or standard training at eps 0
            if cfg.eps > 0:
                x = _attack(run, x, y, gen)
            run.model.train()
            logits = run.forward(run.net, x)
            loss = F.cross_entropy(logits.float(), y)
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
    return loss_sum, correct, seen, data_seconds


def _attack(run: _Run, x, y, gen, loss_fn=None, init=None):
    """The training attack: PGD in the eps-ball of ``cfg.norm`` with the configured steps, step factor and start
    (``loss_fn`` and ``init`` as :func:`atspectrum.attacks.pgd` takes them; TRADES passes its KL loss and start).
    FGSM-RS is this with one step from a random start in the ball."""
    cfg = run.cfg
    return attacks.pgd(
        run.net,
        x,
        y,
        run.eps,
        cfg.attack_steps,
        cfg.attack_step_factor * run.eps,
        random_start=cfg.attack_random_start,
        loss_fn=loss_fn,
        init=init,
        generator=gen,
        eval_mode=cfg.attack_bn_eval,
        forward=run.forward,
        allow_reduced_precision=cfg.precision != "fp32",
        norm=cfg.norm,
    )


def trades_loss(run: _Run, x, y, gen) -> tuple[torch.Tensor, torch.Tensor]:
    """TRADES (Zhang et al. 2019, their reference recipe): the examples maximise KL(f(x) ‖ f(x')) by PGD from
    x + 0.001·N(0, 1), projected onto the ball of ``cfg.norm`` (BatchNorm as ``attack_bn_eval`` says, the clean
    prediction fixed); the loss is the cross-entropy on the clean images plus ``trades_beta`` times that KL on the
    examples, averaged over the batch. Returns the loss and the logits on the examples (the epoch's training
    accuracy, as for PGD-AT)."""
    with attacks.frozen(run.model, run.cfg.attack_bn_eval), torch.no_grad():
        clean = F.softmax(run.forward(run.net, x).float(), dim=1)

    def kl(logits, target):  # summed over the batch: the attack steps by the gradient's direction
        return F.kl_div(F.log_softmax(logits.float(), dim=1), target, reduction="sum")

    start = x + 0.001 * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    adv = _attack(run, x, clean, gen, loss_fn=kl, init=start)
    run.model.train()
    logits_clean, logits_adv = run.forward(run.net, x).float(), run.forward(run.net, adv).float()
    robust = F.kl_div(F.log_softmax(logits_adv, dim=1), F.softmax(logits_clean, dim=1), reduction="batchmean")
    return F.cross_entropy(logits_clean, y) + run.cfg.trades_beta * robust, logits_adv


def _select(best: dict, model: nn.Module, score: float, epoch: int) -> dict:
    """The best epoch so far once ``epoch`` (0-based) scored ``score``: on ties the earlier one."""
    if score > best["score"]:
        return {
            "score": score,
            "epoch": epoch + 1,
            "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        }
    return best


def _save_state(state_path: str, model, opt, sched, cfg: TrainConfig, epoch: int, rows: list[dict], best: dict):
    """Writes the whole training state after ``epoch`` (0-based) atomically to ``state_path``."""
    with atomic_path(state_path) as tmp:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch + 1,
                "log": rows,
                "best_score": best["score"],
                "best_epoch": best["epoch"],
                "best_model": best["state"],
                "config": _config_record(cfg),
            },
            tmp,
        )


def _finish(model: nn.Module, rows: list[dict], best: dict, cfg: TrainConfig) -> tuple[nn.Module, list[dict], dict]:
    """Loads the selected weights into ``model`` (eval mode); returns :func:`train`'s result."""
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.to(memory_format=torch.contiguous_format).eval()
    summary = {
        "selected_epoch": best["epoch"],
        "select": cfg.select,
        "epochs": cfg.epochs,
        "val_robust_acc": rows[best["epoch"] - 1]["val_robust_acc"] if rows else float("nan"),
        "val_clean_acc": rows[best["epoch"] - 1]["val_clean_acc"] if rows else float("nan"),
        "train_seconds": sum(r["seconds"] for r in rows),
    }
    return model, rows, summary


def _train(model, train_data, val_data, cfg, state_path, device, on_epoch_end, log, stop: list[int]):
    """:func:`train` itself; ``stop`` lists the stop signals received so far."""
    device = torch.device(device)
    if cfg.select == "best_val" and len(val_data[1]) == 0:
        raise ValueError("select: best_val needs a validation split (val_size > 0); use select: last otherwise")
    model.to(device)
    eps = attacks.budget(cfg.eps, cfg.norm)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.lr_milestones), gamma=cfg.lr_gamma)
    start_epoch, rows, best = _resume(model, opt, sched, cfg, state_path, log)
    xs, ys = train_data[0].to(device), train_data[1].to(device)
    xv, yv = val_data
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    net = torch.compile(model) if cfg.compile else model
    autocast = functools.partial(
        torch.autocast, device_type=device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"
    )

    def forward(m, inp):
        with autocast():
            return m(inp)

    run = _Run(model, net, opt, cfg, device, memory_format, forward, eps)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        loss_sum, correct, seen, data_seconds = _train_epoch(run, xs, ys, epoch, stop, state_path, log)
        lr = opt.param_groups[0]["lr"]
        sched.step()
        loss_sum, correct = loss_sum.item(), correct.item()  # the epoch's one synchronisation
        _check_finite(model, loss_sum / seen, epoch, cfg.epochs)
        train_seconds = time.perf_counter() - t0
        val_clean, val_robust = validate(model, xv, yv, cfg, device)
        row = dict(
            epoch=epoch + 1,
            lr=lr,
            train_loss=loss_sum / seen,
            train_acc=100.0 * correct / seen,
            val_clean_acc=val_clean,
            val_robust_acc=val_robust,
            train_seconds=train_seconds,
            data_seconds=data_seconds,
            seconds=time.perf_counter() - t0,
        )
        rows.append(row)
        if log:
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        best = _select(best, model, val_robust if cfg.select == "best_val" else epoch, epoch)
        if state_path:
            _save_state(state_path, model, opt, sched, cfg, epoch, rows, best)
        if on_epoch_end:
            on_epoch_end(row)
    return _finish(model, rows, best, cfg)
