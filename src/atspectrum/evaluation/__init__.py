"""Evaluations: per-example frames of every attack (evaluate), the quantized evaluation units and their
cell cache (units), the worst case and cell reads of the aggregates (frames), corruption evaluations (corruption),
the overdesign search's decisions (search). The package imports nothing itself: units and search are torch-free
(planning imports them), and so is frames (the aggregate jobs import it)."""
