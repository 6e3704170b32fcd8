"""Exporters to the platforms courses already use (Gradescope, PrairieLearn, Canvas, Moodle) and the
similarity check. Each reads reports or the course's own files; none computes a score or runs code."""
