"""The instructor-side grading service: webhooks in, a durable queue, graded reports and a gradebook out.

`grader serve` (see `command.py`) runs it: forges (GitHub, GitLab, Gitea, or a post-receive hook on a
self-hosted bare repository) tell it of each push; it fetches the commit from the course's own list of
repositories, grades it like `grader grade`, stores the report, posts a commit status back and shows
students their feedback and the instructor the gradebook. It is the grade of record: unlike a workflow
in the student's repository, nothing a student controls can read its secrets or change its scores.
This package never executes student code itself; grading goes through `grader.pipeline.grade.grade`.
"""
