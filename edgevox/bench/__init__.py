"""`edgevox bench`: reproducible latency, speed and memory reports (see docs/benchmarks.md).

:mod:`edgevox.bench.runner` drives the real stages, each case in its own process;
:mod:`edgevox.bench.report` turns the results into the versioned JSON report, its Markdown page
and chart; :mod:`edgevox.bench.commands` is the command line. Nothing is imported here, so the
runner's child processes (``python -m edgevox.bench.runner``) start clean.
"""
