#!/usr/bin/env python3
"""Python's jmespath as the reference for gameliftstreams.jmespath.

stdin:  [{"expression": str, "data": JSON text}, ...]
stdout: {"version": jmespath.__version__,
         "results": [{"json": json.dumps(result)} | {"error": class}, ...]}
The class is that of the compliance suite ("syntax", "invalid-type",
"invalid-value", "invalid-arity", "unknown-function"); Python's own
TypeError and ValueError count as invalid-type and invalid-value; anything
else is "other:NAME" (the spec leaves those out).
"""
import json
import sys
import warnings

import jmespath
from jmespath import exceptions as x

warnings.simplefilter("ignore")


def classify(e):
    if isinstance(e, x.ArityError):
        return "invalid-arity"
    if isinstance(e, (x.LexerError, x.ParseError, x.EmptyExpressionError)):
        return "syntax"
    if isinstance(e, x.UnknownFunctionError):
        return "unknown-function"
    if isinstance(e, (x.JMESPathTypeError, TypeError)):
        return "invalid-type"
    if isinstance(e, ValueError):
        return "invalid-value"
    return "other:" + type(e).__name__


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            value = jmespath.search(case["expression"], json.loads(case["data"]))
        except Exception as e:  # pylint: disable=broad-except
            results.append({"error": classify(e)})
            continue
        try:
            results.append({"json": json.dumps(value, ensure_ascii=False)})
        except (TypeError, ValueError) as e:
            results.append({"error": "other:" + type(e).__name__})
    json.dump({"version": jmespath.__version__, "results": results}, sys.stdout)


main()
