# The grading service's push-to-feedback latency (grader/service/): included by the Makefile.
.PHONY: bench-service

bench-service: install  ## grader serve: 202 and push-to-status times of N pushes (default 200); STEP=05-backprop: one student's latency
	$(PY) bench/service.py $(if $(N),--pushes $(N)) $(if $(STEP),--latency $(STEP))
