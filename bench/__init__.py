"""`make bench`: the project's benchmarks, each figure against a baseline measured in the same run.

    python -m bench [--heavy] [--repeat N] [--only pdf,extract] [--out FILE] [--compare FILE]

Every area (`pdf`, `extract`, `formats`, `pack`, `requests`) is a module with `cases(size)`;
`harness` runs each variant of a case in its own child process (`child`), interleaved with its
baselines (A, B, A, B, ...), and records wall time, units per second, CPU utilisation and peak
RSS of the whole process tree. `databases` seeds the databases the cases need, once. Not part of
`make test`: timings belong here, never in assertions of the suite.
"""
