"""Views of a report: pure functions from the report dict to another format. None writes files."""
