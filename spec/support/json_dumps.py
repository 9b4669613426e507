#!/usr/bin/env python3
"""Python's json.dumps as the reference for gameliftstreams.json.encode.

stdin:  [{"text": JSON, "indent": int|null, "sort_keys": bool}, ...]
stdout: [dumps(loads(text), indent=, ensure_ascii=False, sort_keys=) | {"error": msg}, ...]
"""
import json
import sys


def main():
    out = []
    for case in json.load(sys.stdin):
        try:
            value = json.loads(case["text"])
            out.append(json.dumps(value, indent=case.get("indent"), ensure_ascii=False,
                                  sort_keys=case["sort_keys"]))
        except ValueError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


main()
