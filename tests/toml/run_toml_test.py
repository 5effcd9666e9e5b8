#!/usr/bin/env python3
"""Runs a toml-test decoder over the TOML 1.0.0 cases of the toml-test corpus.

usage: run_toml_test.py DECODER [CORPUS_DIR]

CORPUS_DIR is the corpus's tests/ folder (the one holding files-toml-1.0.0).
Without it: $TOML_TEST_DIR, else <repo>/../shared/toml-test/tests. When the
corpus is missing the run is skipped (exit 77) with a message that says how
to get it, or fails when NSRELOAD_TEST_REQUIRE names toml-test.

valid/X.toml must decode (exit 0) to JSON semantically equal to valid/X.json;
invalid/X.toml must be rejected (exit 1 with a "line:col: reason" message).
A crash, a sanitizer report or a timeout is a failure either way.
"""

import json
import os
import re
import subprocess
import sys

TIMEOUT = 5
SANITIZER_MARKS = (b"AddressSanitizer", b"LeakSanitizer", b"UndefinedBehaviorSanitizer",
                   b"runtime error:")
DATETIME_TYPES = ("datetime", "datetime-local", "date-local", "time-local")


def default_corpus():
    env = os.environ.get("TOML_TEST_DIR")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "toml-test", "tests")


def norm_datetime(s):
    """RFC 3339 text to a canonical form: T separator, Z for +00:00, ms precision."""
    s = s.strip().upper()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})?(?:[T ]?(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?", s)
    if not m:
        return s
    date, time, frac, off = m.groups()
    out = date or ""
    if time:
        if len(time) == 5:
            time += ":00"
        out += ("T" if date else "") + time + "." + ((frac or "") + "000")[:3]
    if off in ("+00:00", "-00:00"):
        off = "Z"
    return out + (off or "")


def norm_number(typ, s):
    s = s.strip().replace("_", "")
    if typ == "integer":
        return int(s, 0) if s.lstrip("+-")[:2] in ("0x", "0o", "0b") else int(s)
    low = s.lower()
    if low.lstrip("+-") == "nan":
        return "nan"
    if low.lstrip("+-") == "inf":
        return "-inf" if low.startswith("-") else "inf"
    return float(s)


def equal(want, got, path="$"):
    """None when equal, else a message saying where they differ."""
    if isinstance(want, dict) and set(want.keys()) == {"type", "value"} and isinstance(want.get("value"), str):
        if not (isinstance(got, dict) and set(got.keys()) == {"type", "value"}):
            return "%s: want a %s, got %s" % (path, want["type"], json.dumps(got)[:80])
        wt, gt = want["type"], got["type"]
        if wt != gt:
            return "%s: want type %s, got %s" % (path, wt, gt)
        wv, gv = want["value"], got["value"]
        try:
            if wt in ("integer", "float"):
                # nan and inf come back as strings, so nan equals nan
                same = norm_number(wt, wv) == norm_number(wt, gv)
            elif wt in DATETIME_TYPES:
                same = norm_datetime(wv) == norm_datetime(gv)
            else:
                same = wv == gv
        except (ValueError, TypeError):
            same = False
        if not same:
            return "%s: want %s %r, got %r" % (path, wt, wv, gv)
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return "%s: want a table, got %s" % (path, json.dumps(got)[:80])
        if set(want) != set(got):
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            return "%s: keys differ (missing %r, unexpected %r)" % (path, missing, extra)
        for k in want:
            msg = equal(want[k], got[k], "%s.%s" % (path, k))
            if msg:
                return msg
        return None
    if isinstance(want, list):
        if not isinstance(got, list):
            return "%s: want an array, got %s" % (path, json.dumps(got)[:80])
        if len(want) != len(got):
            return "%s: want %d elements, got %d" % (path, len(want), len(got))
        for i, (w, g) in enumerate(zip(want, got)):
            msg = equal(w, g, "%s[%d]" % (path, i))
            if msg:
                return msg
        return None
    return "%s: unexpected expected-value %r" % (path, want)


def run(decoder, toml_path):
    with open(toml_path, "rb") as f:
        data = f.read()
    try:
        p = subprocess.run([decoder], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout after %ds" % TIMEOUT
    return p.returncode, p.stdout, p.stderr


def first_line(b):
    s = b.decode("utf-8", "replace").strip()
    return s.splitlines()[0] if s else ""


def check_valid(decoder, corpus, name):
    rc, out, err = run(decoder, os.path.join(corpus, name))
    if rc is None:
        return "timeout"
    if any(m in err for m in SANITIZER_MARKS):
        return "sanitizer report: " + first_line(err[err.find(b"ERROR"):] or err)
    if rc != 0:
        return "rejected (exit %d): %s" % (rc, first_line(err))
    try:
        got = json.loads(out.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return "decoder printed invalid JSON: %s" % e
    with open(os.path.join(corpus, name[:-5] + ".json"), "rb") as f:
        want = json.loads(f.read().decode("utf-8"))
    return equal(want, got)


def check_invalid(decoder, corpus, name):
    rc, out, err = run(decoder, os.path.join(corpus, name))
    if rc is None:
        return "timeout"
    if any(m in err for m in SANITIZER_MARKS):
        return "sanitizer report: " + first_line(err[err.find(b"ERROR"):] or err)
    if rc == 0:
        return "accepted, but must be rejected: " + out.decode("utf-8", "replace")[:100].strip()
    if rc != 1:
        return "crashed or failed oddly (exit %d): %s" % (rc, first_line(err))
    if not re.match(rb"\d+:\d+: \S", err):
        return "no 'line:col: reason' message: %r" % first_line(err)
    return None


SKIP = 77  # ctest's SKIP_RETURN_CODE for this test


def required():
    """True when NSRELOAD_TEST_REQUIRE names toml-test (CI sets it)."""
    names = os.environ.get("NSRELOAD_TEST_REQUIRE", "").replace(",", " ").split()
    return "toml-test" in names


def corpus_missing(listing):
    """The corpus lives outside this repository: skip, unless it is required."""
    sys.stderr.write(
        "toml-test: corpus not found: %s is missing.\n"
        "  Get toml-test 1.0.0 (the toml-lang/toml-test project) and set TOML_TEST_DIR to its tests/\n"
        "  folder, the one that holds files-toml-1.0.0.\n" % listing)
    if required():
        sys.stderr.write("toml-test: NSRELOAD_TEST_REQUIRE names toml-test: failing\n")
        return 1
    print("toml-test: skipped (no corpus)")
    return SKIP


def main(argv):
    if len(argv) < 2 or len(argv) > 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    decoder = os.path.abspath(argv[1])
    corpus = argv[2] if len(argv) == 3 else default_corpus()
    listing = os.path.join(corpus, "files-toml-1.0.0")
    if not os.access(decoder, os.X_OK):
        sys.stderr.write("toml-test: decoder %s is not executable\n" % decoder)
        return 2
    if not os.path.isfile(listing):
        return corpus_missing(listing)
    with open(listing) as f:
        names = [l.strip() for l in f if l.strip()]

    counts = {"valid": [0, 0], "invalid": [0, 0]}  # passed, total
    failures = []
    for name in names:
        if name.startswith("valid/") and name.endswith(".toml"):
            kind, msg = "valid", check_valid(decoder, corpus, name)
        elif name.startswith("invalid/") and name.endswith(".toml"):
            kind, msg = "invalid", check_invalid(decoder, corpus, name)
        else:
            continue  # the .json halves of valid cases
        counts[kind][1] += 1
        if msg:
            failures.append(name)
            print("FAIL %s: %s" % (name, msg))
        else:
            counts[kind][0] += 1

    passed = counts["valid"][0] + counts["invalid"][0]
    total = counts["valid"][1] + counts["invalid"][1]
    if total == 0:
        sys.stderr.write("toml-test: no cases listed in %s\n" % listing)
        return 2
    print("valid:   %d/%d decoded correctly" % tuple(counts["valid"]))
    print("invalid: %d/%d rejected" % tuple(counts["invalid"]))
    print("toml-test: %d passed, %d failed" % (passed, total - passed))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
