"""Running jobs: artifact paths, atomic writes, job logs, devices and GPU slots, the job set-up.
Torch-free except jobs and devices."""
