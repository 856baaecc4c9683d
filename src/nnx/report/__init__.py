"""Figures, tables and markdown reports, built from what a run wrote to disk (no torch import)."""
