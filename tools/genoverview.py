#!/usr/bin/env python3
"""Writes lua/gameliftstreams/clioverview.lua from the GameLift Streams model.

    python3 tools/genoverview.py ../shared/reference/gameliftstreams

For every structure member, the one-line overview the AWS CLI puts in the
comments of `--generate-cli-skeleton yaml-input`: awscli's
customizations/utils.py get_shape_doc_overview, i.e. the member's
documentation (or its shape's when the member has none) with the XML
stripped as xml.dom.minidom reads it, cut at the first run of '.' or ':'
(a '.' appended), line breaks turned into spaces. It needs the model's raw
HTML, which climodel.lua (plain text) no longer has. Commit the result.
"""
import json
import os
import re
import sys
import xml.dom.minidom
import xml.parsers.expat

SENTENCE = re.compile(r'[.:]+')


def strip_xml(doc):
    try:
        dom = xml.dom.minidom.parseString('<doc>%s</doc>' % doc)
    except xml.parsers.expat.ExpatError:
        return doc
    out = []

    def walk(node):
        for c in node.childNodes:
            if c.nodeType == node.TEXT_NODE:
                out.append(c.data)
            else:
                walk(c)
    walk(dom)
    return ''.join(out)


def overview(doc):
    content = strip_xml(doc)
    content = SENTENCE.split(content, 1)[0]
    if content:
        content += '.'
    for ch in ('\n', '\u2028'):
        content = content.replace(ch, ' ')
    return content


def lua_str(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif o < 32 or o == 127:
            out.append('\\%03d' % o)
        else:
            out.append(ch)
    return '"' + ''.join(out) + '"'


def main(refdir):
    model = json.load(open(os.path.join(refdir, 'service-2.json')))
    shapes = model['shapes']
    lines = ['-- gameliftstreams.clioverview: what the AWS CLI shows of the model that',
             '-- climodel.lua does not keep:',
             '--   members[shape][member]  the first sentence of the member\'s documentation,',
             '--                           as the yaml-input skeleton comments show it',
             '--                           (members without documentation are absent)',
             '--   waiters[kebab-name]     the waiter\'s description (waiters-2.json)',
             '-- Written by tools/genoverview.py; do not edit by hand.',
             '-- luacheck: ignore 631',
             'return {',
             '  members = {']
    for name in sorted(shapes):
        s = shapes[name]
        if s['type'] != 'structure' or not s.get('members'):
            continue
        items = []
        for mn, mm in s['members'].items():
            doc = mm.get('documentation', shapes[mm['shape']].get('documentation', ''))
            text = overview(doc)
            if text:
                items.append('    %s = %s,' % (mn, lua_str(text)))
        if items:
            lines.append('    %s = {' % name)
            lines.extend('  ' + i for i in items)
            lines.append('    },')
    lines.append('  },')
    lines.append('  waiters = {')
    waiters = json.load(open(os.path.join(refdir, 'waiters-2.json')))['waiters']
    for name, w in waiters.items():
        kebab = re.sub(r'([a-z0-9])([A-Z])', r'\1-\2', re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1-\2', name)).lower()
        lines.append('    [%s] = %s,' % (lua_str(kebab), lua_str(w.get('description', ''))))
    lines.append('  },')
    lines.append('}')
    path = os.path.join(os.path.dirname(__file__), '..', 'lua', 'gameliftstreams', 'clioverview.lua')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else '../shared/reference/gameliftstreams')
