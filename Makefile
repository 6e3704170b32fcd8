# dl-grader: `make help` lists the targets.
PY      := .venv/bin/python
GRADER  := .venv/bin/grader
JOBS    ?= 2
# pytest-xdist workers of `make test` and `make test-fast` (0: one process, no workers)
TEST_JOBS ?= 2

.PHONY: help install grade test test-fast validate mutants bench-startup clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | expand -t 16

install: .venv/.installed  ## create .venv with the grader and its dependencies
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@# Debian tools: debootstrap builds the docker sandbox's image offline; chromium renders the
	@# HTML feedback in the view tests; git clones repository submissions; bwrap jails the local
	@# sandbox's runners; python3-torch (Debian's torch 1.13, CPU, ~1 GB with its libraries) runs the
	@# local sandbox's runner of steps that need torch (with /usr/bin/python3, as the docker image does);
	@# postgresql runs the grading service's queue test on PostgreSQL (a throwaway cluster, never a server).
	@# Installed when we are root.
	@missing=$$(for t in debootstrap:debootstrap chromium:chromium git:git bwrap:bubblewrap; do \
		command -v $${t%%:*} >/dev/null || [ -x /usr/sbin/$${t%%:*} ] || echo $${t#*:}; done; \
		/usr/bin/python3 -c 'import torch' 2>/dev/null || echo python3-torch; \
		command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "note: missing Debian packages ($$missing); install them for the full test suite"; fi; \
	fi
	touch $@

grade: install  ## grade every bundled example submission and print the score table
	$(GRADER) examples --out out/examples -j $(JOBS)

test: install  ## run the project's own tests (docker ones included: build the image first, `make image`)
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadscope

test-fast: install  ## the quick lane: every test not marked slow or docker (a couple of minutes)
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadscope -m "not slow and not docker"

validate: install  ## prove every assignment: spec, points, signatures; reference full, starter zero, examples at their pins
	$(GRADER) validate

mutants: install  ## mutate each reference solution and report the share of mutants that lose points
	$(PY) -m grader.authoring.mutants -j $(JOBS) $(if $(MAX),--max $(MAX))

bench-startup: install  ## CPU seconds of `grader --version`, `list`, `show` vs `python -c pass` (budget 0.3 s)
	$(PY) bench/startup.py

clean:  ## remove reports and caches (keeps .venv)
	rm -rf out .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

-include mk/*.mk
