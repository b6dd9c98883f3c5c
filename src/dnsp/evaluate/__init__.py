"""Evaluation: per-slice runs, statistics, the paper's figures, reports, reproduce and demo."""
