#!/usr/bin/env python3
"""Check a Grafana Alloy configuration without Alloy (not packaged for
Debian 12, and nothing here may download it): parse it by the Alloy syntax
(blocks, labels, attributes, and expressions: literals, arrays, objects,
references, calls, operators), then check what Alloy would check when it
loads it, for the components this project uses: every component is known
and labelled once, every reference names a component that exists and an
export it has, every log source forwards to something that reaches a
loki.write. Prints the pipelines as JSON: for each source, the label names
its lines can carry on arrival at Loki and the JSON fields it extracts.

    alloy_check.py FILE

Exit status 0, or 1 with each problem on its own line. This is a syntax and
wiring check written for this project, not Alloy's own validation: it does
not know every component's arguments.
"""
import json
import re
import sys

# Components this checker knows, with their exports, and the blocks they hold.
COMPONENTS = {
    "loki.write": {"exports": {"receiver"}, "blocks": {"endpoint", "basic_auth", "queue_config", "wal"}},
    "loki.source.journal": {"exports": set(), "blocks": {"relabel_rules"}},
    "loki.source.file": {"exports": set(), "blocks": {"decompression", "file_watch"}},
    "local.file_match": {"exports": {"targets"}, "blocks": set()},
    "loki.process": {"exports": {"receiver"}, "blocks": {
        "stage.json", "stage.timestamp", "stage.labels", "stage.static_labels",
        "stage.drop", "stage.match", "stage.label_drop", "stage.output", "stage.regex"}},
    "loki.relabel": {"exports": {"receiver", "rules"}, "blocks": {"rule"}},
}
GLOBALS = {"sys.env", "constants.hostname", "constants.os", "constants.arch",
           "coalesce", "concat", "format", "join", "split", "to_lower", "to_upper", "trim"}

TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\["\\nrt]|\\u[0-9a-fA-F]{4})*")
  | (?P<raw>`[^`]*`)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[{}\[\](),.=<>+\-*/%^!])
""", re.S | re.X)


class Problem(Exception):
    pass


def tokenize(text):
    pos, line, out = 0, 1, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise Problem("line %d: unexpected %r" % (line, text[pos:pos + 10]))
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            value = m.group()
            if kind == "string":
                value = json.loads(value)
                kind = "str"
            elif kind == "raw":
                value, kind = value[1:-1], "str"
            out.append((kind, value, line))
        line += m.group().count("\n")
        pos = m.end()
    out.append(("eof", None, line))
    return out


class Parser:
    def __init__(self, tokens):
        self.t, self.i = tokens, 0
        self.refs = []          # (dotted name, line)

    def peek(self, k=0):
        return self.t[self.i + k]

    def take(self, kind=None, value=None):
        tok = self.t[self.i]
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise Problem("line %d: expected %s, found %r" % (tok[2], value or kind, tok[1]))
        self.i += 1
        return tok

    def accept(self, value):
        if self.peek()[0] == "op" and self.peek()[1] == value:
            self.i += 1
            return True
        return False

    # body := (attribute | block)*  until "}" or the end
    def body(self, top):
        attrs, blocks = {}, []
        while True:
            kind, value, line = self.peek()
            if (top and kind == "eof") or (not top and kind == "op" and value == "}"):
                return attrs, blocks
            name = [self.take("ident")[1]]
            while self.accept("."):
                name.append(self.take("ident")[1])
            if self.accept("="):
                if len(name) != 1:
                    raise Problem("line %d: attribute name %s has dots" % (line, ".".join(name)))
                if name[0] in attrs:
                    raise Problem("line %d: attribute %s set twice" % (line, name[0]))
                attrs[name[0]] = self.expr()
                continue
            label = self.take("str")[1] if self.peek()[0] == "str" else None
            self.take("op", "{")
            a, b = self.body(False)
            self.take("op", "}")
            blocks.append({"name": ".".join(name), "label": label, "attrs": a,
                           "blocks": b, "line": line})

    # Expressions, by precedence: || && comparison + - * / % ^ unary postfix.
    LEVELS = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"),
              ("*", "/", "%"), ("^",)]

    def expr(self, level=0):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.expr(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            left = {"op": op, "args": [left, self.expr(level + 1)]}
        return left

    def unary(self):
        if self.peek()[0] == "op" and self.peek()[1] in ("!", "-"):
            op = self.take()[1]
            return {"op": op, "args": [self.unary()]}
        return self.postfix()

    def postfix(self):
        kind, value, line = self.peek()
        if kind == "ident":
            self.take()
            name = [value]
            while self.peek()[1] == "." and self.peek(1)[0] == "ident":
                self.take()
                name.append(self.take()[1])
            node = {"ref": ".".join(name), "line": line}
            if value not in ("true", "false", "null"):
                self.refs.append((node["ref"], line))
            else:
                node = {"literal": {"true": True, "false": False, "null": None}[value]}
        else:
            node = self.primary()
        while True:
            if self.accept("("):
                args = []
                while not self.accept(")"):
                    args.append(self.expr())
                    if not self.accept(","):
                        self.take("op", ")")
                        break
                node = {"call": node, "args": args}
            elif self.accept("["):
                node = {"index": node, "at": self.expr()}
                self.take("op", "]")
            else:
                return node

    def primary(self):
        kind, value, line = self.take()
        if kind in ("str", "number"):
            return {"literal": value}
        if kind == "op" and value == "(":
            e = self.expr()
            self.take("op", ")")
            return e
        if kind == "op" and value == "[":
            items = []
            while not self.accept("]"):
                items.append(self.expr())
                if not self.accept(","):
                    self.take("op", "]")
                    break
            return {"array": items}
        if kind == "op" and value == "{":
            fields = {}
            while not self.accept("}"):
                k = self.take()
                if k[0] not in ("ident", "str"):
                    raise Problem("line %d: object key %r" % (k[2], k[1]))
                if k[1] in fields:
                    raise Problem("line %d: object key %s twice" % (k[2], k[1]))
                self.take("op", "=")
                fields[k[1]] = self.expr()
                if not self.accept(","):
                    self.take("op", "}")
                    break
            return {"object": fields}
        raise Problem("line %d: unexpected %r in an expression" % (line, value))


def refs_in(node):
    if isinstance(node, dict):
        if "ref" in node:
            yield node["ref"]
        for v in node.values():
            yield from refs_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_in(v)


def object_keys(node):
    return list(node["object"]) if node and "object" in node else []


def check(text):
    p = Parser(tokenize(text))
    attrs, blocks = p.body(True)
    problems = []
    if attrs:
        problems.append("top-level attributes: %s" % ", ".join(attrs))
    comps = {}
    for b in blocks:
        spec = COMPONENTS.get(b["name"])
        if spec is None:
            problems.append("line %d: unknown component %s" % (b["line"], b["name"]))
            continue
        if not b["label"]:
            problems.append("line %d: %s has no label" % (b["line"], b["name"]))
            continue
        key = "%s.%s" % (b["name"], b["label"])
        if key in comps:
            problems.append("line %d: %s defined twice" % (b["line"], key))
        comps[key] = b

        def inner(blk, allowed):
            for c in blk["blocks"]:
                if c["name"] not in allowed:
                    problems.append("line %d: %s has no block %s" % (c["line"], blk["name"], c["name"]))
                inner(c, allowed)
        inner(b, spec["blocks"])

    # References: a component's export, or a known global.
    for ref, line in p.refs:
        if ref in GLOBALS:
            continue
        for name in sorted(COMPONENTS, key=len, reverse=True):
            if ref.startswith(name + "."):
                rest = ref[len(name) + 1:].split(".")
                target = "%s.%s" % (name, rest[0])
                if target not in comps:
                    problems.append("line %d: %s: no component %s" % (line, ref, target))
                elif len(rest) != 2 or rest[1] not in COMPONENTS[name]["exports"]:
                    problems.append("line %d: %s: %s exports %s" % (
                        line, ref, name, ", ".join(sorted(COMPONENTS[name]["exports"])) or "nothing"))
                break
        else:
            problems.append("line %d: unknown reference %s" % (line, ref))

    def forwards(key):
        b = comps[key]
        return [r[: -len(".receiver")] for r in refs_in(b["attrs"].get("forward_to")) if r.endswith(".receiver")]

    def reaches_write(key, seen=()):
        if key.startswith("loki.write."):
            return True
        return any(t in comps and t not in seen and reaches_write(t, seen + (key,)) for t in forwards(key))

    external = []
    for key, b in comps.items():
        if key.startswith("loki.write."):
            external += object_keys(b["attrs"].get("external_labels"))

    def stage_labels(key, seen=()):
        """Label names and JSON fields added on the way from KEY to Loki."""
        labels, fields = set(), set()
        b = comps.get(key)
        if not b or key in seen:
            return labels, fields
        for s in b["blocks"]:
            if s["name"] == "stage.labels":
                labels.update(object_keys(s["attrs"].get("values")))
            if s["name"] == "stage.static_labels":
                labels.update(object_keys(s["attrs"].get("values")))
            if s["name"] == "stage.json":
                for v in (s["attrs"].get("expressions") or {}).get("object", {}).values():
                    if "literal" in v:
                        fields.add(v["literal"])
        for t in forwards(key):
            l, f = stage_labels(t, seen + (key,))
            labels |= l
            fields |= f
        return labels, fields

    pipelines = {}
    for key, b in comps.items():
        if not key.startswith("loki.source."):
            continue
        if not forwards(key):
            problems.append("%s forwards nowhere" % key)
            continue
        if not reaches_write(key):
            problems.append("%s does not reach a loki.write" % key)
        labels = set(object_keys(b["attrs"].get("labels"))) | set(external)
        # Labels of file targets: local.file_match's path_targets keys.
        for r in refs_in(b["attrs"].get("targets")):
            m = comps.get(r[: -len(".targets")]) if r.endswith(".targets") else None
            if m:
                for t in (m["attrs"].get("path_targets") or {}).get("array", []):
                    labels.update(k for k in object_keys(t) if not k.startswith("__"))
        l, fields = stage_labels(forwards(key)[0]) if forwards(key) else (set(), set())
        for t in forwards(key)[1:]:
            l2, f2 = stage_labels(t)
            l |= l2
            fields |= f2
        pipelines[key] = {"labels": sorted(labels | l), "fields": sorted(fields)}
    if not pipelines:
        problems.append("no log source")
    return problems, pipelines


def main():
    try:
        problems, pipelines = check(open(sys.argv[1], encoding="utf-8").read())
    except Problem as e:
        problems, pipelines = [str(e)], {}
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(json.dumps(pipelines, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
