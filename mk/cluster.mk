# Grading on a Dask cluster (grader/pipeline/): its tests with real processes and its benchmark.
# Included by the Makefile (PY is its virtualenv's python).
.PHONY: test-cluster bench-cluster

test-cluster: install  ## the cluster's tests: a dask scheduler and grader workers on 127.0.0.1
	$(PY) -m pytest tests/integration/test_cluster.py -q

bench-cluster: install  ## dask scheduler + 2 workers on loopback vs -j 2, N submissions (default 40)
	$(PY) bench/cluster.py $(if $(N),--submissions $(N))
