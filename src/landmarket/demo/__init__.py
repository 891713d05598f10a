"""Demo data: `landmarket demo` (seed: a region, organisations, keys, plots) and the synthetic
plots it, the tests and the benchmarks share. Above the domains: it uses their services; no
domain imports it."""
