#!/usr/bin/env python3
"""Rewrites the error catalogue table in docs/errors.md from the code (crates/shared/src/catalogue.rs).

The test `the_docs_reproduce_the_catalogue` fails when the two differ; run this to fix it."""
import pathlib
import re
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
out = subprocess.run(
    ["cargo", "test", "-q", "-p", "shared", "the_docs_reproduce_the_catalogue"],
    capture_output=True, text=True, cwd=root,
).stdout
rows = [l for l in out.splitlines() if l.startswith("| ") and not l.startswith("| code")]
readme = root / "docs" / "errors.md"
if not rows:
    print("docs/errors.md already reproduces the catalogue")
else:
    table = "| code | HTTP | error | error_description |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    text = re.sub(r"\| code \| HTTP \| error \| error_description \|\n\|---\|---\|---\|---\|\n(\|.*\n)+",
                  lambda _: table, readme.read_text())
    readme.write_text(text)
    print(f"docs/errors.md: catalogue table rewritten ({len(rows)} entries)")
