# dl-grader: `make help` lists the targets.
PY      := .venv/bin/python
GRADER  := .venv/bin/grader
JOBS    ?= 2

.PHONY: help install grade test validate mutants clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | expand -t 16

install: .venv/.installed  ## create .venv with the grader and its dependencies
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@# The docker sandbox's image is bootstrapped from Debian's packages (no registry needed).
	@command -v debootstrap >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		{ apt-get install -y -qq debootstrap >/dev/null 2>&1 || \
		  { apt-get update -qq && apt-get install -y -qq debootstrap; }; } || \
		echo "note: debootstrap is missing; the docker sandbox's image cannot be built here"
	touch $@

grade: install  ## grade every bundled example submission and print the score table
	$(GRADER) examples --out out/examples -j $(JOBS)

test: install  ## run the project's own tests
	$(PY) -m pytest

validate: install  ## check every assignment: spec, points, starter/solution signatures
	$(GRADER) validate

mutants: install  ## mutate each reference solution and report the share of mutants that lose points
	$(PY) -m grader.mutants -j $(JOBS) $(if $(MAX),--max $(MAX))

clean:  ## remove reports and caches (keeps .venv)
	rm -rf out .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

-include mk/*.mk
