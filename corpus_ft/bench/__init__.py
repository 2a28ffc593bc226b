"""`corpus-ft bench …`: the benchmarks and calibration, one module per stage they measure.

They import the stages (never the other way round), so a stage's package holds only what
a run needs.
"""
