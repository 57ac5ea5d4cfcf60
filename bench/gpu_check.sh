#!/usr/bin/env bash
# The device check of the spine, run on a lent GPU machine (python3 there has torch, pandas, pyarrow, seaborn):
# the spine benchmark at the paper's scale, then a short CUDA training + checkpoint round trip + PGD grid.
set -uo pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 bench/run.py --device cuda --width 64 --images 10240 --batch 256 --transfer-images 5120 --out "$OUT" 2>&1 | tee "$OUT/bench.txt"
python3 - <<'PY' 2>&1 | tee "$OUT/cuda_spine.txt"
import time, torch
from atspectrum import models
from atspectrum.evaluation import evaluate
from atspectrum.specs import PGDSpec
from atspectrum.train import TrainConfig, train
torch.manual_seed(0)
n = 4096
g = torch.Generator().manual_seed(0)
y = torch.randint(0, 10, (n,), generator=g)
x = torch.randint(0, 80, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
for i, c in enumerate(y.tolist()):
    x[i, c % 3, 3 * c: 3 * c + 3, :] += 80  # learnable, attackable class-dependent stripes
tr, va, te = (x[:3072], y[:3072]), (x[3072:3584], y[3072:3584]), (x[3584:], y[3584:])
cfg = TrainConfig(eps=8, epochs=3, batch_size=256, lr=0.1, lr_milestones=(2,), seed=0)
t = time.time()
m, rows, summary = train(models.build("resnet18", 10, 3, width=64), tr, va, cfg, state_path="/tmp/state.pt", device="cuda")
print("train", round(time.time() - t, 1), "s", summary)
for r in rows: print(r)
models.save("/tmp/m.pt", m, **summary)
m2 = models.load("/tmp/m.pt", "cuda")
for d in (0, 4, 8, 16):
    f = evaluate.pgd_per_example(m2, *te, d, PGDSpec(20, 0.1), batch_size=512, seed=0, device="cuda")
    f2 = evaluate.pgd_per_example(m2, *te, d, PGDSpec(20, 0.1), batch_size=128, seed=0, device="cuda")
    print(f"delta {d}: acc {evaluate.accuracy(f):.2f} (batch 128: {evaluate.accuracy(f2):.2f})")
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer
f, adv = evaluate.attack_per_example(m2, *te, 8, PGDSpec(20, 0.1), batch_size=512, device="cuda", keep_adv=True)
transfer.save("/tmp/adv.npz", adv, te[1], 8)
back = transfer.load("/tmp/adv.npz", *te, 8)
print("transfer round trip bit-identical:", torch.equal(back, adv))
for beta in (4.0, 12.0):
    q = Quantizer("conv0", beta)
    tr_acc = evaluate.accuracy(evaluate.classify_per_example(m2, back, te[1], q, device="cuda"))
    fb, _ = evaluate.attack_per_example(m2, *te, 8, PGDSpec(20, 0.1), batch_size=512, device="cuda",
                                        attack_quantize=q._replace(straight_through=True), eval_quantize=q)
    print(f"beta {beta}: transfer acc {tr_acc:.2f}, BPDA acc {evaluate.accuracy(fb):.2f}")
PY
