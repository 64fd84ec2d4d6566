#!/usr/bin/env python3
"""README.md's walkthrough is the transcript of a scripts/demo.sh run (see scripts/lib/walk.sh).

    readme-walkthrough.py write TRANSCRIPT   puts the transcript between the README's markers
    readme-walkthrough.py check TRANSCRIPT   fails, with a diff, unless the README has it already

The check compares with token values, codes, CSRF tokens and times masked, since those differ
from run to run; everything else (every command, every answer's shape) must be the same.
"""
import difflib
import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- walkthrough: written by scripts/demo.sh --readme, checked in CI; edit demo.sh, not this -->"
END = "<!-- end of walkthrough -->"


def mask(text: str) -> str:
    # JWTs (ID tokens, JWT access tokens): three base64url parts.
    text = re.sub(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", "<jwt>", text)
    # 256-bit values (tokens, codes, CSRF tokens, request ids) are 43 base64url characters.
    text = re.sub(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", "<value>", text)
    # Unix times (exp, iat).
    return re.sub(r"\b1[0-9]{9}\b", "<time>", text)


def section(readme: str) -> tuple[int, int]:
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        sys.exit(f"README.md has no walkthrough markers:\n{BEGIN}\n...\n{END}")
    return start + len(BEGIN), end


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    transcript = pathlib.Path(sys.argv[2]).read_text().strip("\n")
    readme = README.read_text()
    start, end = section(readme)
    if sys.argv[1] == "write":
        README.write_text(readme[:start] + "\n\n" + transcript + "\n\n" + readme[end:])
        print(f"README.md: walkthrough written ({transcript.count('$ curl')} commands)")
        return
    have = mask(readme[start:end].strip("\n")).splitlines()
    want = mask(transcript).splitlines()
    if have != want:
        diff = "\n".join(difflib.unified_diff(have, want, "README.md", "this run", lineterm=""))
        sys.exit(f"{diff}\n\nREADME.md's walkthrough is not what scripts/demo.sh ran: run scripts/demo.sh --readme")
    print(f"README.md: the walkthrough is what this run did ({len(want)} lines)")


if __name__ == "__main__":
    main()
