"""Benchmarks of the spine (not tests): speed ratios measured in one run, written to bench/results/*.json.

(a) t(PGD-k) / (k · t(forward+backward to the input))       goal ≤ 1.05
(b) t(AT epoch) / ((k+1) · t(clean training epoch))           goal ≤ 1.10
    and the share of the AT epoch spent in data loading/augmentation   goal ≤ 2%
    t(ours PGD-20) / t(torchattacks PGD-20), same model and batch   goal ≤ 0.9 (when torchattacks is installed)
(c) transfer evaluation of L layers × B betas: t(attack once + store + L·B × (load + quantized forward))
    / (t(attack) + L·B · t(forward))                            goal ≤ 1.1

Usage: python bench/run.py [--device auto|cpu|cuda] [--width W] [--images N] [--batch B] [--steps K]
Defaults are sized for a 2-core CPU; on a GPU pass e.g. --width 64 --images 10240 --batch 256.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import tempfile  # noqa: E402

from atspectrum import attacks, models  # noqa: E402
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer  # noqa: E402
from atspectrum.evaluation import evaluate
from atspectrum.runtime import devices
from atspectrum.specs import PGDSpec
from atspectrum.train import TrainConfig, train  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timeit(fn, device, repeats):
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_pgd(model, x, y, steps, device, repeats):
    eps = 8 / 255
    model.eval()

    def fwd_bwd():
        for p in model.parameters():
            p.requires_grad_(False)
        xx = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(xx), y, reduction="sum"), xx)
        for p in model.parameters():
            p.requires_grad_(True)
        return g

    t_step = timeit(fwd_bwd, device, repeats)
    t_pgd = timeit(lambda: attacks.pgd(model, x, y, eps, steps, eps / 4), device, repeats)
    out = {"t_fwd_bwd_s": t_step, "t_pgd_s": t_pgd, "ratio": t_pgd / (steps * t_step)}
    try:
        import torchattacks
    except ImportError:
        return out
    theirs = torchattacks.PGD(model, eps=eps, alpha=eps / 10, steps=20, random_start=True)
    t_theirs = timeit(lambda: theirs(x, y), device, repeats)
    t_ours20 = timeit(lambda: attacks.pgd(model, x, y, eps, 20, eps / 10), device, repeats)
    # The floor of any PGD-20: 20 forward+backward passes to the input. torchattacks' time over that floor bounds
    # how much faster than torchattacks any implementation of the same attack can be without skipping model work.
    out |= {
        "t_ours_pgd20_s": t_ours20,
        "t_torchattacks_pgd20_s": t_theirs,
        "vs_torchattacks": t_ours20 / t_theirs,
        "ours_over_floor": t_ours20 / (20 * t_step),
        "torchattacks_over_floor": t_theirs / (20 * t_step),
        "torchattacks": torchattacks.__version__,
    }
    return out


def bench_epochs(spec, images, labels, steps, batch, device):
    val = (images[:256], labels[:256])  # exercises validation too; its time is not part of train_seconds
    out = {}
    for name, eps in (("clean", 0), ("at", 8)):
        cfg = TrainConfig(eps=eps, epochs=2, batch_size=batch, attack_steps=steps, select="last")
        torch.manual_seed(0)
        _, rows, _ = train(models.build(**spec), (images, labels), val, cfg, device=device)
        out[name] = rows[-1]  # the second epoch: warm caches, no first-call overhead
    t_at, t_clean = out["at"]["train_seconds"], out["clean"]["train_seconds"]
    return {
        "t_clean_epoch_s": t_clean,
        "t_at_epoch_s": t_at,
        "ratio": t_at / ((steps + 1) * t_clean),
        "data_share": out["at"]["data_seconds"] / t_at,
        "images": len(labels),
        "at_images_per_s": len(labels) / t_at,
        "clean_images_per_s": len(labels) / t_clean,
    }


def bench_transfer(model, images, labels, steps, batch, device, betas=(4.0, 6.0, 8.0, 10.0, 12.0)):
    """Section 4's transfer grid in one process: the cost of everything beyond the attack and the forwards."""
    layers = list(model.quant_points)
    kw = dict(batch_size=batch, device=device)

    def attack():
        return evaluate.attack_per_example(model, images, labels, 8, PGDSpec(steps, 0.1), keep_adv=True, **kw)

    t_attack = timeit(attack, device, 1)
    t_forward = timeit(lambda: evaluate.classify_per_example(model, images, labels, **kw), device, 2)

    def pipeline():
        _, adv = attack()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "delta8.npz")
            transfer.save(path, adv, labels, 8)
            for layer in layers:
                for beta in betas:
                    x = transfer.load(path, images, labels, 8, device)
                    evaluate.classify_per_example(model, x, labels, Quantizer(layer, beta), **kw)

    t_pipeline = timeit(pipeline, device, 1)
    n = len(layers) * len(betas)
    return {
        "layers": len(layers),
        "betas": len(betas),
        "t_attack_s": t_attack,
        "t_forward_s": t_forward,
        "t_pipeline_s": t_pipeline,
        "ratio": t_pipeline / (t_attack + n * t_forward),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--transfer-images", type=int, default=256)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    device = devices.resolve(args.device)
    spec = {"name": "resnet18", "num_classes": 10, "in_channels": 3, "width": args.width}
    torch.manual_seed(0)
    model = models.build(**spec).to(device)
    x = torch.rand(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (args.images,))
    result = {
        "machine": {
            "host": platform.node(),
            "cpu_threads": torch.get_num_threads(),
            "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "torch": torch.__version__,
        },
        "setup": vars(args) | {"model": spec},
        "pgd": bench_pgd(model, x, y, args.steps, device, args.repeats),
        "epoch": bench_epochs(spec, images, labels, args.steps, args.batch, device),
        "transfer": bench_transfer(
            model.eval(), images[: args.transfer_images], labels[: args.transfer_images], 20, args.batch, device
        ),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"spine-{device.type}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
    p, e = result["pgd"], result["epoch"]
    print(
        f"device {device} ({result['machine']['gpu'] or platform.processor() or 'cpu'}), ResNet-18 width "
        f"{args.width}, batch {args.batch}, k = {args.steps}"
    )
    print(f"{'measure':52s} {'value':>8s} {'goal':>6s}")
    print(f"{'(a) t(PGD-k) / (k t(fwd+bwd))':52s} {p['ratio']:8.3f} {'<=1.05':>6s}")
    if "vs_torchattacks" in p:
        print(f"{'    t(ours PGD-20) / t(torchattacks PGD-20)':52s} {p['vs_torchattacks']:8.3f} {'<=0.9':>6s}")
        print(f"{'    t(torchattacks PGD-20) / (20 t(fwd+bwd)): its overhead':52s} {p['torchattacks_over_floor']:8.3f}")
    print(f"{'(b) t(AT epoch) / ((k+1) t(clean epoch))':52s} {e['ratio']:8.3f} {'<=1.10':>6s}")
    print(f"{'    data loading + augmentation share of AT epoch':52s} {100 * e['data_share']:7.2f}% {'<=2%':>6s}")
    print(f"{'    PGD-k AT throughput (images/s, fp32)':52s} {e['at_images_per_s']:8.0f}")
    q = result["transfer"]
    print(
        f"{'(c) transfer grid / (attack + L·B forwards), L·B = ' + str(q['layers'] * q['betas']):52s} "
        f"{q['ratio']:8.3f} {'<=1.1':>6s}"
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
