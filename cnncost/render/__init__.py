"""Renderers: the only place analysis results become text (rich tables, JSON, CSV, Markdown).

Every renderer takes frozen results (``Report``, ``Comparison``) and returns the whole output as one string, so
the CLI can print it at once and never leaves partial output on stdout when something fails. Numbers become
strings only through ``cnncost.render.numbers``. Rich is imported by the table renderers only.
"""

from __future__ import annotations

#: The counting convention in one line (CONVENTIONS.md), printed under every table and carried in JSON.
CONVENTION = (
    "MACs = conv and linear multiply-accumulates, bias excluded · FLOPs = 2 × MACs · other ops counted apart"
)

#: Version of the JSON layout written by ``--format json``; raised only when a field changes meaning or goes.
SCHEMA_VERSION = 1
