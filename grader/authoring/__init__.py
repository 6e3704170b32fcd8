"""Tools for course authors: make a new step from the template and prove a step sound.

Nothing here grades students' work for a grade of record; it writes only inside the course folder
it is pointed at (`new`) and never edits an existing step.
"""
