#!/usr/bin/env python3
"""Writes gls's own model tables from the GameLift Streams service model.

    python3 tools/genmodel.py ../shared/reference/gameliftstreams

Outputs src/model.c (operations, shapes, members, enums, patterns, errors for
the C core), lua/gameliftstreams/model.lua (paginators and waiters) and
lua/gameliftstreams/climodel.lua (what `glsrun OPERATION` needs to be the AWS
CLI: operations and members in model order with their kebab-case names,
shapes, paginators, waiters, documentation as plain text). All are committed: builds and installs never need the model files. Run it again
when the service model changes, and commit the result.

Patterns are translated from the model's ECMAScript flavour to POSIX ERE
(regcomp), which the C core uses: \\d becomes [0-9], \\xHH the character,
and a '-' that follows a range inside [...] moves to the end of the set.
The translation is checked here against Python's re on sample strings.
"""
import html
import html.parser
import json
import os
import re
import sys

TYPES = {"structure": "GLS_T_STRUCT", "list": "GLS_T_LIST", "map": "GLS_T_MAP",
         "string": "GLS_T_STRING", "integer": "GLS_T_INTEGER", "long": "GLS_T_LONG",
         "boolean": "GLS_T_BOOLEAN", "timestamp": "GLS_T_TIMESTAMP",
         "double": "GLS_T_DOUBLE", "float": "GLS_T_DOUBLE", "blob": "GLS_T_BLOB"}
LOCS = {None: "GLS_LOC_BODY", "uri": "GLS_LOC_URI", "querystring": "GLS_LOC_QUERY",
        "header": "GLS_LOC_HEADER"}


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def xform(name):
    """botocore.xform_name(name, "-"): the AWS CLI's kebab-case names."""
    try:
        from botocore import xform_name
        return xform_name(name, "-")
    except ImportError:
        return snake(name).replace("_", "-")


class _Text(html.parser.HTMLParser):
    """The model's HTML documentation as plain text: paragraphs separated by
    blank lines, list items as "* ", everything else as its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("ul", "ol"):
            self.depth += 1
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n\n" + "  " * (self.depth - 1) + "* ")
        elif tag == "p" and not (self.parts and self.parts[-1].endswith("* ")):
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in ("ul", "ol"):
            self.depth -= 1
        if tag in ("p", "ul", "ol"):
            self.parts.append("\n\n")

    def handle_data(self, data):
        data = re.sub(r"\s+", " ", data)
        if self.parts and self.parts[-1].endswith("* "):
            data = data.lstrip()
        if data:
            self.parts.append(data)


def plain(doc):
    if not doc:
        return ""
    t = _Text()
    t.feed(doc)
    t.close()
    paras = [re.sub(r"(?<=\S) +", " ", p).rstrip() for p in re.split(r"\n\n+", "".join(t.parts))]
    paras = [p if p.lstrip().startswith("* ") else p.strip() for p in paras]
    return "\n\n".join(p for p in paras if p)


def lua_lit(v, ind=""):
    """v (None, bool, int, float, str, list, dict of str keys) as a Lua literal."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        out = []
        for ch in v:
            o = ord(ch)
            if ch == "\\":
                out.append("\\\\")
            elif ch == '"':
                out.append('\\"')
            elif ch == "\n":
                out.append("\\n")
            elif o < 32 or o == 127:
                out.append("\\%03d" % o)
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    inner = ind + "  "
    if isinstance(v, list):
        if not v:
            return "{}"
        if all(not isinstance(x, (list, dict)) for x in v):
            return "{ " + ", ".join(lua_lit(x) for x in v) + " }"
        return "{\n" + "".join(inner + lua_lit(x, inner) + ",\n" for x in v) + ind + "}"
    items = [(k, x) for k, x in v.items() if x is not None]
    if not items:
        return "{}"
    def key(k):
        return k if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k) and k not in LUA_KEYWORDS \
            else "[" + lua_lit(k) + "]"
    return "{\n" + "".join(inner + key(k) + " = " + lua_lit(x, inner) + ",\n" for k, x in items) + ind + "}"


LUA_KEYWORDS = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
                "until", "while"}


def climodel(model, pag, wai):
    """The table lua/gameliftstreams/climodel.lua returns."""
    shapes = {}
    for n in sorted(model["shapes"]):
        s = model["shapes"][n]
        req = set(s.get("required", []))
        members = None
        if s["type"] == "structure":
            members = [{"name": mn, "cli": xform(mn), "shape": mm["shape"], "required": mn in req,
                        "location": mm.get("location"), "location_name": mm.get("locationName"),
                        "idempotency_token": mm.get("idempotencyToken") or None,
                        "doc": plain(mm.get("documentation"))}
                       for mn, mm in s.get("members", {}).items()]
        shapes[n] = {"type": s["type"], "members": members,
                     "member": s.get("member", {}).get("shape"),
                     "key": s.get("key", {}).get("shape"), "value": s.get("value", {}).get("shape"),
                     "enum": s.get("enum"), "min": s.get("min"), "max": s.get("max"),
                     "pattern": s.get("pattern"), "sensitive": bool(s.get("sensitive")),
                     "exception": bool(s.get("exception")),
                     "status": s.get("error", {}).get("httpStatusCode") if s.get("exception") else None,
                     "doc": plain(s.get("documentation"))}
    ops, by_cli = [], {}
    for on, o in model["operations"].items():
        p = pag.get(on)
        entry = {"name": on, "cli": xform(on),
                 "input": o.get("input", {}).get("shape"), "output": o.get("output", {}).get("shape"),
                 "http": {"method": o["http"]["method"], "uri": o["http"]["requestUri"],
                          "code": o["http"].get("responseCode", 200)},
                 "paginator": p and {"input_token": p["input_token"], "output_token": p["output_token"],
                                     "limit_key": p.get("limit_key"), "result_key": p["result_key"]},
                 "errors": [e["shape"] for e in o.get("errors", [])],
                 "doc": plain(o.get("documentation"))}
        ops.append(on)
        by_cli[entry["cli"]] = entry
    waiters = {}
    for wn, w in wai.items():
        acc = []
        for a in w["acceptors"]:
            acc.append({"matcher": a["matcher"], "state": a["state"], "argument": a.get("argument"),
                        "expected": a["expected"]})
        waiters[xform(wn)] = {"name": wn, "operation": w["operation"], "delay": w["delay"],
                              "max_attempts": w["maxAttempts"], "acceptors": acc}
    meta = model["metadata"]
    return {"api_version": meta["apiVersion"], "service_full_name": meta.get("serviceFullName"),
            "operations": ops, "by_cli": by_cli, "shapes": shapes, "waiters": waiters,
            "doc": plain(model.get("documentation"))}


def to_posix(pat):
    pat = re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), pat)
    out, i, in_set, prev_range = [], 0, False, False
    moved_dash = False
    while i < len(pat):
        c = pat[i]
        if c == "\\":
            n = pat[i + 1]
            if n == "d":
                out.append("0-9" if in_set else "[0-9]")
                i += 2
                continue
            if n == "x":
                out.append(chr(int(pat[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append(pat[i:i + 2])
            i += 2
            continue
        if not in_set and c == "[":
            in_set, prev_range, moved_dash = True, False, False
            out.append(c)
        elif in_set and c == "]":
            if moved_dash:
                out.append("-")
            in_set = False
            out.append(c)
        elif in_set and c == "-" and i + 1 < len(pat) and pat[i + 1] != "]" and \
                out[-1] != "[":
            if prev_range:  # "0-9-_": this '-' is a literal
                moved_dash = True
                prev_range = False
            else:
                out.append(c)
                out.append(pat[i + 1])
                prev_range = True
                i += 2
                continue
        else:
            prev_range = False
            out.append(c)
        i += 1
    return "".join(out)


SAMPLES = ["", "a", "abc-123", "sg-1AB2C3De4", "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1",
           "arn:aws:iam::111122223333:role/x", "s3://bucket/path/", "s3://bk/x.zip", "10.0.0.1/24",
           "300.1.1.1/8", "-_./!+@ x", "key=value", "Ab_9", "9ab", "has space", "tab\t", "ünï",
           "a/b+c=", "x" * 200, "!~", "s3://a/", "arn:aws:gameliftstreams:r:123:x"]


def c_str(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(refdir):
    model = json.load(open(os.path.join(refdir, "service-2.json")))
    pag = json.load(open(os.path.join(refdir, "paginators-1.json")))["pagination"]
    wai = json.load(open(os.path.join(refdir, "waiters-2.json")))["waiters"]
    shapes = model["shapes"]
    names = sorted(shapes)
    index = {n: i for i, n in enumerate(names)}

    patterns = []
    for n in names:
        p = shapes[n].get("pattern")
        if p is not None and p not in patterns:
            patterns.append(p)
    posix = [to_posix(p) for p in patterns]
    for p, q in zip(patterns, posix):
        for s in SAMPLES:
            if bool(re.search(p, s)) != bool(re.search(q, s)):
                sys.exit("pattern translation differs for %r -> %r on %r" % (p, q, s))

    members, enums, lines = [], [], []
    for n in names:
        s = shapes[n]
        first = len(members)
        req = set(s.get("required", []))
        for mn, mm in s.get("members", {}).items():
            flags = []
            if mn in req:
                flags.append("GLS_M_REQUIRED")
            if mm.get("idempotencyToken"):
                flags.append("GLS_M_IDEMPOTENCY")
            members.append("  {%s, %s, %d, %s, %s}," % (
                c_str(mn), c_str(mm.get("locationName", mn)), index[mm["shape"]],
                LOCS[mm.get("location")], " | ".join(flags) or "0"))
        efirst = len(enums)
        enums.extend(s.get("enum", []))
        flags = []
        if s.get("sensitive"):
            flags.append("GLS_S_SENSITIVE")
        if "min" in s:
            flags.append("GLS_S_HAS_MIN")
        if "max" in s:
            flags.append("GLS_S_HAS_MAX")
        if s.get("exception"):
            flags.append("GLS_S_ERROR")
        if s.get("retryable"):
            flags.append("GLS_S_RETRYABLE")
            if s["retryable"].get("throttling"):
                flags.append("GLS_S_THROTTLING")
        elem = key = 0
        if s["type"] == "list":
            elem = index[s["member"]["shape"]]
        if s["type"] == "map":
            key, elem = index[s["key"]["shape"]], index[s["value"]["shape"]]
        pat = patterns.index(s["pattern"]) if "pattern" in s else -1
        lines.append("  {%s, %s, %s, %dLL, %dLL, %d, %d, %d, %d, %d, %d, %d}," % (
            c_str(n), TYPES[s["type"]], " | ".join(flags) or "0",
            int(s.get("min", 0)), int(s.get("max", 0)), pat, efirst, len(enums) - efirst,
            first, len(members) - first, elem, key))
        # error shapes carry their HTTP status in the key slot? no: separate table
    errors = []
    for n in names:
        s = shapes[n]
        if s.get("exception"):
            errors.append("  {%s, %d, %d}," % (c_str(n), s.get("error", {}).get("httpStatusCode", 400),
                                                index[n]))
    ops = []
    for on in sorted(model["operations"]):
        o = model["operations"][on]
        ops.append("  {%s, %s, %s, %s, %d, %d, %d}," % (
            c_str(on), c_str(snake(on)), c_str(o["http"]["method"]), c_str(o["http"]["requestUri"]),
            o["http"].get("responseCode", 200),
            index[o["input"]["shape"]] if "input" in o else -1,
            index[o["output"]["shape"]] if "output" in o else -1))

    # partitions (for the endpoint rule set's aws.partition)
    ppath = os.path.join(refdir, "..", "partitions.json")
    parts = json.load(open(ppath))["partitions"]
    part_lines, region_lines = [], []
    for pt in parts:
        o = pt["outputs"]
        rx = pt["regionRegex"].replace("\\-", "-").replace("\\w", "[A-Za-z0-9_]").replace("\\d", "[0-9]")
        for r in ["us-east-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1", "us-iso-east-1", "x-y-1", "eu-isoe-west-1"]:
            if bool(re.search(pt["regionRegex"], r)) != bool(re.search(rx, r)):
                sys.exit("partition regex translation differs for %r" % pt["regionRegex"])
        first = len(region_lines)
        region_lines += ["  %s," % c_str(r) for r in sorted(pt["regions"])]
        part_lines.append("  {%s, %s, %s, %s, %d, %d, %d, %d}," % (
            c_str(pt["id"]), c_str(rx), c_str(o["dnsSuffix"]), c_str(o["dualStackDnsSuffix"]),
            1 if o.get("supportsFIPS") else 0, 1 if o.get("supportsDualStack") else 0,
            first, len(region_lines) - first))

    meta = model["metadata"]
    out = []
    out.append("/* model.c - GameLift Streams operation and shape tables, API version %s.\n"
               " * Written by tools/genmodel.py from the service model; do not edit by hand. */\n"
               % meta["apiVersion"])
    out.append('#include "gls_private.h"\n')
    out.append("const char *const gls_model_signing_name = %s;" % c_str(meta["signingName"]))
    out.append("const char *const gls_model_endpoint_prefix = %s;" % c_str(meta["endpointPrefix"]))
    out.append("const char *const gls_model_api_version = %s;\n" % c_str(meta["apiVersion"]))
    out.append("const char *const gls_patterns[] = {")
    out += ["  %s," % c_str(p) for p in posix]
    out.append("};\nconst size_t gls_npatterns = %d;\n" % len(posix))
    out.append("/* The same patterns as the model writes them (ECMAScript), for messages. */")
    out.append("const char *const gls_pattern_sources[] = {")
    out += ["  %s," % c_str(p) for p in patterns]
    out.append("};\n")
    out.append("const char *const gls_enum_values[] = {")
    out += ["  %s," % c_str(e) for e in enums]
    out.append("  NULL\n};\n")
    out.append("const gls_member gls_members[] = {")
    out += members
    out.append("};\n")
    out.append("const gls_shape gls_shapes[] = {")
    out += lines
    out.append("};\nconst size_t gls_nshapes = %d;\n" % len(names))
    out.append("const gls_error_shape gls_errors[] = {")
    out += errors
    out.append("};\nconst size_t gls_nerrors = %d;\n" % len(errors))
    out.append("const char *const gls_partition_regions[] = {")
    out += region_lines
    out.append("};\n")
    out.append("const gls_partition gls_partitions[] = {")
    out += part_lines
    out.append("};\nconst size_t gls_npartitions = %d;\n" % len(part_lines))
    out.append("const gls_operation gls_operations[] = {")
    out += ops
    out.append("};\nconst size_t gls_noperations = %d;" % len(ops))
    with open("src/model.c", "w") as f:
        f.write("\n".join(out) + "\n")

    lua = ["-- gameliftstreams.model: paginators and waiters of the GameLift Streams model.",
           "-- Written by tools/genmodel.py; do not edit by hand.", "local M = {}", "",
           "M.paginators = {"]
    for on in sorted(pag):
        p = pag[on]
        lua.append('  %s = { input_token = "%s", output_token = "%s", limit_key = "%s", result_key = "%s" },'
                   % (on, p["input_token"], p["output_token"], p.get("limit_key", ""), p["result_key"]))
    lua.append("}\n\nM.waiters = {")
    for wn in sorted(wai):
        w = wai[wn]
        lua.append('  %s = {' % wn)
        lua.append('    operation = "%s", delay = %d, max_attempts = %d,' % (w["operation"], w["delay"], w["maxAttempts"]))
        lua.append('    acceptors = {')
        for a in w["acceptors"]:
            parts = ['matcher = "%s"' % a["matcher"], 'state = "%s"' % a["state"]]
            if "argument" in a:
                parts.append('argument = "%s"' % a["argument"])
            e = a["expected"]
            parts.append("expected = %s" % (('"%s"' % e) if isinstance(e, str) else str(e).lower()))
            lua.append("      { %s }," % ", ".join(parts))
        lua.append("    },\n  },")
    lua.append("}\n\nreturn M")
    with open("lua/gameliftstreams/model.lua", "w") as f:
        f.write("\n".join(lua) + "\n")

    cm = climodel(model, pag, wai)
    with open("lua/gameliftstreams/climodel.lua", "w") as f:
        f.write("-- gameliftstreams.climodel: the GameLift Streams model as `glsrun OPERATION` reads it\n"
                "-- (operations and members in model order, kebab-case names, shapes, paginators,\n"
                "-- waiters, documentation as plain text). API version %s.\n"
                "-- Written by tools/genmodel.py; do not edit by hand.\n"
                "-- luacheck: ignore 631\n"
                "return %s\n" % (meta["apiVersion"], lua_lit(cm)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/gameliftstreams")
