"""Evaluations: per-example frames of every attack (evaluate), the quantized evaluation units and their
cell cache (units), corruption evaluations (corruption), the overdesign search's decisions (search).
The package imports nothing itself: units and search are torch-free (planning imports them)."""
