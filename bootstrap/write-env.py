#!/usr/bin/env python3
"""Writes the Parameter Store listing as a docker compose env file that reads back exactly.

    write-env.py LISTING ENV_FILE

LISTING is the JSON that `aws ssm get-parameters-by-path --query 'Parameters[].[Name,Value]'
--output json` prints: a list of [name, value] pairs; `-` reads it from stdin, so that the decrypted
listing never lands on disk. Each parameter becomes one line `NAME=<quoted>`, NAME being the last part
of its path. Prints the number of variables written. Values are never printed: a refusal names the
parameter only, and any other error only its kind (no traceback, whose message could quote a value).

Why the quoting (compose's env-file parser, compose-go dotenv; docs/aws-facts.md, instance bootstrap):
- an unquoted value loses everything from " #" on, its trailing spaces, and is interpolated (`$`);
- a single-quoted value is taken literally, except that its end is the first quote that is not
  preceded by a backslash (and newer parsers turn \\' into '): safe for any value with no single quote
  that does not end in a backslash;
- a double-quoted value is interpolated (`$$` is a literal `$`) and its escapes are expanded
  (`\\"` is `"`, `\\0134` is octal 134, a backslash). Writing every backslash as `\\0134` means no
  backslash ever comes right before the closing quote, which older parsers would take as escaped.
Multi-line values are refused: a line break inside a value is not read back the same by every parser.
"""

import json
import re
import sys

# Names compose accepts for a variable (it also allows [ and ], which Parameter Store names cannot hold).
KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def quote(value):
    """The value as a quoted compose env-file value that every compose-go parser reads back unchanged."""
    if "'" not in value and not value.endswith("\\"):
        return "'" + value + "'"
    escaped = {"\\": "\\0134", '"': '\\"', "$": "$$"}
    return '"' + "".join(escaped.get(char, char) for char in value) + '"'


def problem_with(name, key, value, seen):
    if not key or not KEY.match(key):
        return "parameter %s: %r is not a usable variable name (letters, digits, '_', '.', '-')" % (name, key)
    if key in seen:
        return "parameters %s and %s would both become %s: rename one" % (seen[key], name, key)
    if not isinstance(value, str):
        return "parameter %s has no string value" % name
    if "\n" in value or "\r" in value:
        return (
            "parameter %s has a multi-line value, which a compose env file cannot hold: store it "
            "base64-encoded and decode it in the container, or split it into one parameter per line" % name
        )
    if "\0" in value:
        return "parameter %s contains a NUL character, which no environment variable can hold" % name
    return None


def env_lines(listing):
    """One `NAME=value` line per parameter, or the problems that prevent writing the file."""
    if listing is None:
        listing = []
    if not isinstance(listing, list):
        raise ValueError("not a list")
    lines, problems, seen = [], [], {}
    for entry in listing:
        # Anything else is not the CLI's listing, and naming its parts could print part of a value.
        if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str):
            raise ValueError("not a [name, value] pair")
        name, value = entry
        key = str(name).rsplit("/", 1)[-1]
        problem = problem_with(name, key, value, seen)
        if problem:
            problems.append(problem)
            continue
        seen[key] = name
        lines.append("%s=%s\n" % (key, quote(value)))
    return lines, problems


def read_listing(path):
    """The listing from a file, or from stdin for `-` (read as UTF-8 whatever the locale says)."""
    if path == "-":
        return json.loads(sys.stdin.buffer.read().decode("utf-8"))
    with open(path, encoding="utf-8") as listing_file:
        return json.load(listing_file)


def main(argv):
    if len(argv) != 3:
        print("usage: write-env.py LISTING ENV_FILE", file=sys.stderr)
        return 2
    try:
        lines, problems = env_lines(read_listing(argv[1]))
    except Exception as error:  # noqa: BLE001 - its message, like a traceback, could quote a value
        kind = type(error).__name__
        print("the parameter listing is not a list of [name, value] pairs (%s)" % kind, file=sys.stderr)
        return 1
    if problems:
        print("; ".join(problems), file=sys.stderr)
        return 1
    try:
        with open(argv[2], "w", encoding="utf-8", newline="\n") as env_file:
            env_file.write("".join(lines))
    except OSError as error:
        print("cannot write %s (%s)" % (argv[2], type(error).__name__), file=sys.stderr)
        return 1
    print(len(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
