import contextlib
import os
import sys

import pandas as pd

from atspectrum import data, models
from atspectrum.runtime import io, jobs, logs
from atspectrum.strengths import label, strength
from atspectrum.train import Interrupted, TrainConfig, train

log = logs.to_file(snakemake.log[0])
p = snakemake.params
cfg = TrainConfig(**p.hp, eval_batch_size=snakemake.resources.eval_batch)
device = jobs.setup(snakemake.threads, p.device)
log(f"training {snakemake.wildcards.model} at eps={label(cfg.eps)} on {device}: {cfg}")
model = models.build(**p.spec, seed=cfg.seed)  # the same initial weights for every eps of a model
try:
    model, rows, summary = train(
        model,
        data.load_prepared(snakemake.input.train),
        data.load_prepared(snakemake.input.val),
        cfg,
        state_path=p.state,
        device=device,
        log=log,
    )
except Interrupted as stop:  # SIGTERM/SIGUSR1 (SLURM time limit, preemption, scancel): already logged by train()
    log(f"exiting with status {128 + stop.signum}: the job fails and its next attempt (--retries) resumes")
    sys.exit(128 + stop.signum)
w = snakemake.wildcards
identity = {"model": w.model, "seed": int(w.seed), "eps": strength(w.eps)}  # checked by every load (models.load)
models.save(snakemake.output.model, model, eps=cfg.eps, identity=identity, **summary)
with io.atomic_path(snakemake.output.log) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
io.write_json(snakemake.output.metrics, {"eps": cfg.eps, **summary, "hparams": p.hp})
with contextlib.suppress(FileNotFoundError):  # the resume state has served its purpose
    os.remove(p.state)
log(f"done: {summary}")
