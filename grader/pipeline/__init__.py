"""How a batch's grading jobs are run and shown: threads here or a Dask cluster, and their progress.

`executors` chooses and drives the engine, `job` is one job as a value a worker can grade, `worker` is
the `grader worker` command that joins a machine to a cluster, `progress` shows a batch as it goes.
Nothing here writes a report: the batch (grader.pipeline.batch) is the only writer, on the client. Import the
submodules themselves; this package imports nothing, so that loading one loads no engine.
"""
