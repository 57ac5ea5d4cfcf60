"""Quick probe (not a test): where PGD-AT time goes on a GPU — per-step cost vs batch size and precision."""

import sys
import time

sys.path.insert(0, "src")
import torch
import torch.nn.functional as F

from atspectrum import attacks, models

torch.backends.cudnn.benchmark = True
for bs in (256, 1024):
    for prec in ("fp32", "bf16"):
        m = models.build("resnet18", 10, 3, width=64).cuda().to(memory_format=torch.channels_last)
        x = torch.rand(bs, 3, 32, 32, device="cuda").contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (bs,), device="cuda")

        def ac():
            return torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16")

        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

        def step():
            with ac():
                loss = F.cross_entropy(m(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def fwd(m_, inp):
            with ac():
                return m_(inp)

        def atk():
            attacks.pgd(m, x, y, 8 / 255, 10, 2 / 255, forward=fwd, allow_reduced_precision=True)

        for f in (step, atk):
            for _ in range(3):
                f()
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(10):
                f()
            torch.cuda.synchronize()
            dt = (time.perf_counter() - t) / 10
            print(f"bs {bs} {prec} {f.__name__}: {dt * 1000:.2f} ms -> {bs / dt:.0f} img/s", flush=True)
