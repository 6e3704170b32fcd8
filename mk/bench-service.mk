# The grading service's push-to-feedback latency (grader/service/): included by the Makefile.
.PHONY: bench-service

bench-service: install  ## grader serve: 202 time and push-to-status time of N pushes (default 200), sqlite normal vs full sync
	$(PY) bench/service.py $(if $(N),--pushes $(N))
