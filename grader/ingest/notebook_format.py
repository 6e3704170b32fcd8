"""nbformat, imported without the IRI grammar that jsonschema would build for it, and nothing else.

`import nbformat` imports jsonschema, whose format checkers build a Lark grammar for IRIs at import when
the optional rfc3987-syntax is installed, and nbgrader's own dependencies install it (jupyter-events
asks for jsonschema[format-nongpl]). That grammar took 0.65 of the 0.75 CPU-seconds of the import, on
the critical path of every notebook grading. No schema this process checks asks for an IRI format, so
the module is marked absent before nbformat loads; jsonschema then leaves those two formats unchecked,
as it does wherever the package is not installed. This module never reads a notebook itself.
"""

from __future__ import annotations

import sys

if "jsonschema" not in sys.modules:  # once jsonschema is in, it has made its choice: leave it
    sys.modules.setdefault("rfc3987_syntax", None)  # None there: `import rfc3987_syntax` fails fast

import nbformat  # noqa: E402  (after the line above, on purpose)

__all__ = ["nbformat"]
