"""`python -m grader` is the `grader` command (grader/cli.py); nothing else happens here."""

from grader.cli import main

raise SystemExit(main())
