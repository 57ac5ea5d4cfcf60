"""Reporting: tables, figures, statistics, the sanity checklist, the claims verdicts, compute accounting.
Torch-free (planning imports the checklist, the claims and the accounting)."""
