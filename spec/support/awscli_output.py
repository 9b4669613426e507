#!/usr/bin/python3
"""The AWS CLI v2's own output formatters and shorthand parser, for gls's
differential specs (spec/10-cli/output_spec.lua, shorthand_spec.lua).

Run with Debian's /usr/bin/python3 (the one /usr/bin/aws runs on), which can
import awscli. Reads one JSON request per stdin line, writes one JSON answer
per line, in order:

  {"kind": "format", "format": "json|text|table|yaml|yaml-stream",
   "value": V, "title": "ListStreamGroups", "color": false, "columns": 80,
   "query": null | "jmespath expression",
   "paginated": null | {"pages": [P...], "result_keys": ["Items"],
                        "non_aggregate": {}, "resume_token": null | "tok"}}
      -> {"out": "what awscli writes to stdout", "err": null | "str(exception)"}
  {"kind": "shorthand", "text": "a=b,c"}
      -> {"json": json.dumps(V, indent=4, ensure_ascii=False)} | {"err": "message"}
  {"kind": "unpack", "shapes": {service-2.json shapes} (or "model_path":
   a service-2.json), "shape": "Name",
   "cli_name": "--x", "value": "text" | ["word", ...]}
      -> {"json": ...as above} | {"err": "message", "type": "ExceptionClass"}

With --color on, awscli's table formatter starts colorama with autoreset, which
wraps sys.stdout so that every write is followed by ESC[0m; that is reproduced.
(colorama's atexit hook writes one more ESC[0m only when stdout is a tty.)
"""
import argparse
import io
import json
import sys

import awscli  # noqa: F401  (puts awscli's bundled botocore on the path)
import jmespath
from awscli import formatter as awsformatter
from awscli import shorthand
from awscli import argprocess
from botocore.paginate import PageIterator
from botocore import model as botomodel


class FakePages(PageIterator):
    """A PageIterator over canned pages, as the formatter sees one."""

    def __init__(self, pages, result_keys, non_aggregate, resume_token):
        self._pages = pages
        self._result_keys = [jmespath.compile(k) for k in result_keys]
        self._non_aggregate_part = non_aggregate
        self._resume_token = resume_token

    def __iter__(self):
        return iter(self._pages)


def do_format(req, real_stdout):
    query = req.get("query")
    args = argparse.Namespace(
        query=jmespath.compile(query) if query is not None else None,
        color="on" if req.get("color") else "off")
    buf = io.StringIO()
    real_stderr = sys.stderr
    sys.stdout = buf
    err = None
    try:
        fmt = awsformatter.get_formatter(req["format"], args)
        if req["format"] == "table":
            fmt.table._terminal_width = req.get("columns", 80)
        pag = req.get("paginated")
        if pag is not None:
            response = FakePages(pag["pages"], pag["result_keys"],
                                 pag.get("non_aggregate") or {},
                                 pag.get("resume_token"))
        else:
            response = req["value"]
        fmt(req.get("title"), response)
    except Exception as e:  # the CLI's main() catches everything the same way
        err = str(e)
    finally:
        # colorama.init() wrapped both; unwrap so wrappers do not nest
        sys.stdout = real_stdout
        sys.stderr = real_stderr
    # colorama's atexit reset_all() writes one more ESC[0m only when stdout
    # is a tty (it strips it otherwise); these runs model a pipe.
    return {"out": buf.getvalue(), "err": err}


def dumps(value):
    return json.dumps(value, indent=4, ensure_ascii=False)


def do_shorthand(req):
    try:
        return {"json": dumps(shorthand.ShorthandParser().parse(req["text"]))}
    except shorthand.ShorthandParseError as e:
        return {"err": str(e)}


class FakeArg(object):
    def __init__(self, cli_name, argument_model):
        self.cli_name = cli_name
        self.name = cli_name.lstrip("-")
        self.py_name = self.name.replace("-", "_")
        self.argument_model = argument_model


_models = {}


def do_unpack(req):
    shapes = req.get("shapes")
    if shapes is None:
        path = req["model_path"]
        if path not in _models:
            with open(path) as f:
                _models[path] = json.load(f)["shapes"]
        shapes = _models[path]
    resolver = botomodel.ShapeResolver(shapes)
    shape = resolver.get_shape_by_name(req["shape"])
    arg = FakeArg(req.get("cli_name", "--x"), shape)
    value = req["value"]
    try:
        parsed = argprocess.ParamShorthandParser()(
            arg, value, "process-cli-arg.gameliftstreams.op")
        if parsed is None:
            parsed = argprocess.unpack_cli_arg(arg, value)
        return {"json": dumps(parsed)}
    except Exception as e:
        return {"err": str(e), "type": type(e).__name__}


def main():
    real_stdout = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        kind = req["kind"]
        if kind == "format":
            ans = do_format(req, real_stdout)
        elif kind == "shorthand":
            ans = do_shorthand(req)
        else:
            ans = do_unpack(req)
        real_stdout.write(json.dumps(ans, ensure_ascii=False) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main()
