# The docker sandbox: its offline image, its tests against a real engine, and the benchmarks.
# Included by the Makefile (PY is its virtualenv's python).
.PHONY: image test-docker bench

image: install  ## build the sandbox images dl-grader and dl-grader-torch offline (GPU=1: dl-grader-cuda too)
	$(PY) -m grader.sandbox.image $(if $(GPU),--gpu)

test-docker: image  ## the docker backend's tests on a real engine (they fail, not skip, without one)
	$(PY) -m pytest tests/docker -q

bench: image  ## grading vs in-process pytest (the floor), interleaved: CLI, calls, batch of N (6) at -j1/-j2
	$(PY) bench/startup.py
	$(PY) bench/frames.py
	$(PY) bench/sandbox.py $(if $(N),--batch $(N)) $(if $(ROUNDS),--rounds $(ROUNDS))
