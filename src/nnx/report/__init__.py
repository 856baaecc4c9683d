"""Figures, tables and markdown reports. The run report, sweep summaries and README blocks are built from what a
run wrote to disk and import no torch (`nnx report` stays light); some figure modules take tensors."""
