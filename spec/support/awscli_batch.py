"""Runs many AWS CLI v2 command lines in one python process (the CLI's own
clidriver, as /usr/bin/aws runs it), so a differential spec does not pay the
CLI's start-up for each of them.

    /usr/bin/python3 spec/support/awscli_batch.py < cases.json > results.json

cases.json: [[argv...], ...] (argv after `aws`); each result: {"rc": int,
"stdout": str, "stderr": str}, captured at the file descriptors (fd 1, 2) as
a terminal-less run of /usr/bin/aws would write them. The environment
(HOME with the model added, AWS_* settings) is the caller's.
"""
import json
import os
import sys
import tempfile


def run(argv):
    from awscli.clidriver import create_clidriver
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    try:
        try:
            rc = create_clidriver().main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    out.seek(0)
    err.seek(0)
    return {"rc": rc, "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")}


def main():
    sys.argv[0] = "aws"  # argparse's prog in the usage errors
    cases = json.load(sys.stdin)
    results = [run(argv) for argv in cases]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
