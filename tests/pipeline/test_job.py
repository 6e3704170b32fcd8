"""A cluster job (grader.pipeline.job) is refused by a worker whose grader code or sandbox differs from
the client's, and by both sides when it carries more than MAX_JOB_BYTES: an infra_error that says
why, never a grade. (The course-hash side, with real worker processes, is in
tests/integration/test_cluster.py.)"""

from __future__ import annotations

import dataclasses

from grader.pipeline.job import MAX_JOB_BYTES, oversized, prepare, run_job
from grader.spec import find_assignment
from tests.conftest import COURSE

SPEC = find_assignment(COURSE, "01-numpy-basics")


def _job(**changes):
    job = prepare(SPEC, SPEC.solution, name="reference", sandbox="local")
    return dataclasses.replace(job, **changes)


def test_a_worker_with_other_grader_code_refuses_naming_both_hashes():
    report = run_job(_job(grader_sha="0" * 16))
    assert report["status"] == "infra_error" and report["score"] is None
    assert "refused the job: its grader code hash is " in report["reason"]
    assert "the client's is " + "0" * 16 in report["reason"]


def test_a_worker_with_another_sandbox_image_refuses_naming_both_tags():
    report = run_job(_job(sandbox_tag="dl-grader:0000000000000000"))
    assert report["status"] == "infra_error"
    assert "its sandbox image tag is " in report["reason"]
    assert "the client's is dl-grader:0000000000000000" in report["reason"]


def test_a_job_over_the_cap_is_refused_by_the_client_and_by_a_worker():
    big = _job(files={**_job().files, "weights.npy": bytes(MAX_JOB_BYTES)})
    assert f"over the cluster's per-job cap MAX_JOB_BYTES={MAX_JOB_BYTES >> 20} MB" in oversized(big)
    assert "grade it with -j on this machine" in oversized(big)
    assert oversized(_job()) is None
    report = run_job(big)  # a client that shipped it anyway
    assert report["status"] == "infra_error" and f"over MAX_JOB_BYTES={MAX_JOB_BYTES >> 20} MB" in report["reason"]
