"""A whole project out and in, through nginx: the JSON export with
everything needed to rebuild the project, the Markdown export (escaped:
a board item cannot inject HTML), the import of an export as a new project
of the caller, the round trip export -> import -> export (the same JSON but
for ids and times), a bad file (422 with the path of the first problem,
nothing created), an oversized one (413, at nginx and at the worker's own
IMPORT_MAX_BYTES), an export of any size importing again, the worker's
file slots (503 server_busy past them), and brainstormctl project
export/import."""

import http.client as httpclient
import json
import os
import re
import socket
import tempfile
import uuid

import fcgi_client
import helpers
from helpers import env, expect_error, psql
from test_documents import generate
from test_turns import post_message, user_and_project

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
HOSTILE = "<script>alert(1)</script> [click](javascript:alert(1))"


def request(method, path, body=None, headers=None, **kwargs):
    """helpers.request from the test's own loopback address when its
    headers carry one (nginx's limits count per address)."""
    if headers and "X-Test-Source" in headers:
        kwargs.setdefault("source", headers["X-Test-Source"])
    return helpers.request(method, path, body, headers, **kwargs)


def full_project():
    """A project with a conversation, a board with history (moved,
    reworded, deleted items) and two versions of a document."""
    auth, project = user_and_project()
    r = post_message(auth, project, "Maybe a weekly digest by email. "
                     "Let's go with a web app for designers.")
    assert r.status == 202 and r.json()["status"] == "done", r
    r = request("POST", "/api/projects/%s/items" % project,
                {"text": HOSTILE, "state": "exploring",
                 "user_quote": "<b>bold</b>", "confidence": 40},
                headers=auth)
    assert r.status == 201, r
    hostile = r.json()
    r = request("PATCH", "/api/projects/%s/items/%s" % (project, hostile["id"]),
                {"state": "parked", "reason": "later & <maybe>", "version":
                 hostile["version"]}, headers=auth)
    assert r.status == 200, r
    r = request("POST", "/api/projects/%s/items" % project,
                {"text": "An idea we drop", "state": "exploring"},
                headers=auth)
    gone = r.json()
    r = request("DELETE", "/api/projects/%s/items/%s" % (project, gone["id"]),
                headers=auth)
    assert r.status == 204, r
    for kind in ("brief", "brief", "risks"):
        r = generate(auth, project, kind)
        assert r.status == 202 and r.json()["status"] == "done", r
    return auth, project, gone


def export(auth, project, fmt="json"):
    return request("GET", "/api/projects/%s/export?format=%s" % (project, fmt),
                   headers=auth)


def import_doc(auth, doc):
    body = doc if isinstance(doc, (bytes, str)) else json.dumps(doc)
    return request("POST", "/api/projects/import", body,
                   headers=dict(auth, **{"Content-Type": "application/json"}))


def normalized(doc):
    """The export without its ids and times: every id replaced by the
    order it first appears in (so references still have to agree), every
    *_at member dropped."""
    seen = {}

    def canon(value):
        key = str(value)
        if key not in seen:
            seen[key] = "id#%d" % len(seen)
        return seen[key]

    def walk(node, key=None):
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()
                    if not k.endswith("_at")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if node is not None and key is not None and (
                key == "id" or key.endswith("_id") or key == "created_by"
                and UUID.match(str(node))):
            return canon(node)
        return node

    return walk(doc)


def test_export_json_has_everything():
    auth, project, gone = full_project()
    r = export(auth, project)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json"), r
    disposition = r.header("Content-Disposition")
    assert re.match(r'^attachment; filename="brainstorm-turns\.json"$',
                    disposition), disposition
    doc = r.json()
    assert doc["format"] == "brainstorm.project", doc
    assert doc["format_version"] == 1, doc
    assert doc["project"]["id"] == project and doc["project"]["title"] == \
        "Turns", doc["project"]
    states = [i["state"] for i in doc["items"]]
    assert states == sorted(states), states
    assert all(i["events"] for i in doc["items"]), doc["items"]
    hostile = [i for i in doc["items"] if i["text"] == HOSTILE][0]
    assert [e["action"] for e in hostile["events"]] == ["created", "moved"], \
        hostile
    assert hostile["events"][1]["reason"] == "later & <maybe>", hostile
    assert [d["id"] for d in doc["deleted_items"]] == [gone["id"]], doc
    assert [e["action"] for e in doc["deleted_items"][0]["events"]] == \
        ["created", "deleted"], doc["deleted_items"]
    assert [m["role"] for m in doc["messages"]][:2] == ["user", "assistant"]
    assert len(doc["turns"]) == 1, doc["turns"]
    assert doc["turns"][0]["user_message_id"] == doc["messages"][0]["id"]
    kinds = {d["kind"]: d for d in doc["documents"]}
    assert sorted(kinds) == ["brief", "risks"], kinds
    assert [v["version"] for v in kinds["brief"]["versions"]] == [1, 2]
    assert kinds["brief"]["versions"][0]["markdown"].startswith("# ")


def test_export_markdown_is_readable_and_escaped():
    auth, project, _ = full_project()
    r = export(auth, project, "md")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/markdown; charset=utf-8", r
    assert r.header("Content-Disposition") == \
        'attachment; filename="brainstorm-turns.md"', r
    md = r.body.decode()
    assert md.startswith("# Turns\n"), md[:200]
    for part in ("\n## Board\n", "\n### Decided\n", "\n### Exploring\n",
                 "\n### Parked\n", "\n### Rejected\n",
                 "\n### Removed from the board\n", "\n## Conversation\n",
                 "\n**Person**, ", "\n## Documents\n",
                 "\n### Project brief, version 2 (",
                 "\n### Risks, version 1 (", "  - History:\n",
                 "Let's go with a web app for designers"):
        assert part in md, (part, md)
    assert "<" not in md and ">" not in md, md
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\[click\\]" \
        "(javascript:alert(1))" in md, md
    assert "later &amp; &lt;maybe&gt;" in md, md
    expect_error(request("GET", "/api/projects/%s/export?format=pdf" %
                         project, headers=auth), 422)


def test_round_trip():
    auth, project, _ = full_project()
    first = export(auth, project).json()
    r = import_doc(auth, first)
    assert r.status == 201, r
    imported = r.json()
    assert imported["id"] != project and UUID.match(imported["id"]), imported
    assert imported["title"] == "Turns", imported
    assert imported["item_counts"]["decided"] >= 1, imported
    second = export(auth, imported["id"]).json()
    assert normalized(second) == normalized(first), \
        json.dumps([normalized(first), normalized(second)], indent=1)[:4000]
    # Times are kept; ids are all new.
    assert second["messages"][0]["created_at"] == \
        first["messages"][0]["created_at"]
    old_ids = set(re.findall(r'"([0-9a-f-]{36})"', json.dumps(first)))
    new_ids = set(re.findall(r'"([0-9a-f-]{36})"', json.dumps(second)))
    assert not old_ids & new_ids - {helpers_user_id(auth)}, old_ids & new_ids
    # The imported project works like any other: its board and documents.
    r = request("GET", "/api/projects/%s/documents/brief" % imported["id"],
                headers=auth)
    assert r.status == 200 and r.json()["version"] == 2, r
    r = request("GET", "/api/projects/%s/documents/brief/diff?from=1&to=2" %
                imported["id"], headers=auth)
    assert r.status == 200, r


def helpers_user_id(auth):
    r = request("GET", "/api/auth/me", headers=auth)
    return r.json()["user"]["id"]


def project_count(auth):
    return len(request("GET", "/api/projects?limit=100",
                       headers=auth).json()["projects"])


def test_bad_import_names_the_problem_and_creates_nothing():
    auth, project, _ = full_project()
    good = export(auth, project).json()
    before = project_count(auth)
    cases = [
        (lambda d: d["items"][0].__setitem__("state", "done"),
         "items[0].state"),
        (lambda d: d.__setitem__("format_version", 2), "format_version"),
        (lambda d: d["project"].__setitem__("title", ""), "project.title"),
        (lambda d: d["messages"][1].__setitem__(
            "turn_id", str(uuid.uuid4())), "messages[1].turn_id"),
        (lambda d: d["documents"][0]["versions"][0].__setitem__(
            "markdown", "<img src=x onerror=alert(1)>"),
         "documents[0].versions[0].markdown"),
        (lambda d: d["items"][0]["events"][0].__setitem__("colour", 1),
         "items[0].events[0].colour"),
    ]
    for change, where in cases:
        doc = json.loads(json.dumps(good))
        change(doc)
        err = expect_error(import_doc(auth, doc), 422, "validation_failed")
        assert err["field"] == where and err["path"] == where, (where, err)
    expect_error(import_doc(auth, "[]"), 422, "validation_failed")
    expect_error(import_doc(auth, "{not json"), 400, "invalid_json")
    r = request("POST", "/api/projects/import", json.dumps(good),
                headers=dict(auth, **{"Content-Type": "text/plain"}))
    expect_error(r, 415)
    expect_error(request("POST", "/api/projects/import", good), 401)
    assert project_count(auth) == before


def test_oversized_import_413():
    auth, _ = user_and_project()
    limit = int(helpers.worker_env().get("IMPORT_MAX_BYTES") or 33554432)
    # nginx refuses it by its Content-Length, before the body.
    head = ("POST /api/projects/import HTTP/1.1\r\nHost: localhost\r\n"
            "Authorization: %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (auth["Authorization"], limit + 1))
    r = answer_without_body(head.encode())
    expect_error(r, 413, "payload_too_large")
    # The worker has its own limit, above MAX_BODY_BYTES: a 100 KiB
    # project goes in, a body over IMPORT_MAX_BYTES does not.
    sock = os.path.join(env("BS_RUN_DIR"), "fcgi-1.sock")
    doc = {"format": "brainstorm.project", "format_version": 1,
           "project": {"title": "Big"},
           "messages": [{"id": str(uuid.uuid4()), "role": "system",
                         "agent": None, "content": "x" * 100000,
                         "turn_id": None}]}
    body = json.dumps(doc).encode()
    assert len(body) > 65536
    status, _, data = fcgi_client.request(
        sock, "POST", "/api/projects/import", body=body,
        headers={"Content-Type": "application/json",
                 "Authorization": auth["Authorization"]}, timeout=60)
    assert status == 201, (status, data[:300])
    status, data = worker_post_claiming(sock, auth, limit + 1)
    assert status == 413, (status, data[:300])
    assert json.loads(data)["error"]["code"] == "payload_too_large"


def answer_without_body(head):
    """Send a request's head only and read nginx's answer: its headers and
    Content-Length bytes (nginx may reset the connection after it)."""
    host, port = helpers.base_address()
    data = b""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", data[:end])
                if m and len(data) >= end + 4 + int(m.group(1)):
                    break
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    msg = httpclient.HTTPMessage()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        msg[name.strip()] = value.strip()
    return helpers.Response(int(lines[0].split()[1]), msg, body)


def worker_post_claiming(sock, auth, length):
    """A POST whose CONTENT_LENGTH says length, with a tiny body: the worker
    must refuse it by the number, before reading."""
    params = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/api/projects/import",
        "DOCUMENT_URI": "/api/projects/import", "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(length),
        "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": auth["Authorization"],
        "HTTP_HOST": "localhost", "SERVER_PROTOCOL": "HTTP/1.1",
    }
    begin = fcgi_client.struct.pack("!HB5x", fcgi_client.FCGI_RESPONDER, 0)
    message = (fcgi_client._record(fcgi_client.FCGI_BEGIN_REQUEST, begin)
               + fcgi_client._stream(fcgi_client.FCGI_PARAMS,
                                     fcgi_client.encode_params(params))
               + fcgi_client._stream(fcgi_client.FCGI_STDIN, b"{}"))
    stdout = b""
    with fcgi_client.connect(sock, 30) as s:
        s.sendall(message)
        while True:
            _v, rtype, _rid, clen, plen = fcgi_client.struct.unpack(
                "!BBHHBx", fcgi_client._read_exact(s, 8))
            content = fcgi_client._read_exact(s, clen + plen)[:clen]
            if rtype == fcgi_client.FCGI_STDOUT:
                stdout += content
            elif rtype == fcgi_client.FCGI_END_REQUEST:
                break
    status, _, data = fcgi_client.parse_cgi_response(stdout)
    return status, data


def test_an_export_past_its_cap_is_409_before_it_is_read():
    """EXPORT_MAX_BYTES bounds what a worker builds: a project whose rows
    add up to more answers 409 export_too_large, in either format, with
    about how large; text whose escapes take the JSON past the cap (the
    estimate counts bytes as stored) is refused after it is written, not
    sent as a 5xx. The rows go in with psql: messages are rate limited."""
    cap = int(helpers.worker_env().get("EXPORT_MAX_BYTES") or 33554432)
    mib = 1024 * 1024
    auth, pid = user_and_project()
    n = cap // 8000 + 10
    psql("INSERT INTO messages (project_id, role, content, created_at)"
         " SELECT :'pid', 'user', repeat('x', 8000),"
         " now() - g * interval '1 second' FROM generate_series(1, :n) g",
         pid=pid, n=n)
    for fmt in ("json", "md"):
        r = request("GET", "/api/projects/%s/export?format=%s" % (pid, fmt),
                    headers=auth)
        err = expect_error(r, 409, "export_too_large")
        assert "about %d MiB" % round(n * 8300 / mib) in err["message"], err
        assert "at most %d MiB" % (cap // mib) in err["message"], err
    # One sixth of the cap in control characters: each is six bytes of
    # JSON ("\u0001").
    auth, pid = user_and_project()
    psql("INSERT INTO messages (project_id, role, content, created_at)"
         " SELECT :'pid', 'user', repeat(chr(1), 8000),"
         " now() - g * interval '1 second' FROM generate_series(1, :n) g",
         pid=pid, n=cap // 6 // 8000 + 10)
    r = request("GET", "/api/projects/%s/export" % pid, headers=auth)
    err = expect_error(r, 409, "export_too_large")
    assert "at most %d MiB" % (cap // mib) in err["message"], err


def test_an_export_past_the_old_import_cap_imports_again():
    """A JSON export imports again, whatever its size up to
    EXPORT_MAX_BYTES: IMPORT_MAX_BYTES is at least as large (the
    configuration is refused otherwise). Before, an export of 8 to 32 MiB
    was refused by the import with 413."""
    auth, pid = user_and_project()
    n = 1200  # 1200 messages of 8,000 characters: about 9.3 MiB of JSON
    psql("INSERT INTO messages (project_id, role, content, created_at)"
         " SELECT :'pid', 'user', repeat('y', 8000),"
         " now() - g * interval '1 second' FROM generate_series(1, :n) g",
         pid=pid, n=n)
    r = export(auth, pid)
    assert r.status == 200, r
    assert len(r.body) > 8 * 1024 * 1024, len(r.body)
    r = request("POST", "/api/projects/import", r.body.decode(),
                headers=dict(auth, **{"Content-Type": "application/json"}),
                timeout=120)
    assert r.status == 201, r
    rows = psql("SELECT count(*) FROM messages WHERE project_id = :'p'",
                p=r.json()["id"])
    assert rows == [[str(n)]], rows


def _stalled_import(sock, auth):
    """An import whose body never ends: its request thread holds one of
    the worker's file slots, waiting for the rest (nginx would have sent
    the whole body first; this talks to the worker directly)."""
    conn = fcgi_client.Connection(sock, 30)
    conn.send_part("POST", "/api/projects/import", b'{"format": "' + b"x" * 64,
                   40, headers={"Content-Type": "application/json",
                                "Authorization": auth["Authorization"]})
    return conn


def _assert_busy(status, headers, data, attempt=None):
    """A 503 server_busy that says when to come back."""
    assert status == 503, (attempt, status, data[:300])
    assert json.loads(data)["error"]["code"] == "server_busy", data
    assert headers.get("retry-after") == ["5"], headers


def test_exports_and_imports_wait_for_a_file_slot_then_503():
    """A worker runs PROJECT_FILE_SLOTS exports and imports at once (each
    holds several times its file in memory); the next one waits up to
    5 s for its turn and then answers 503 server_busy with Retry-After.
    When a slot is given back, the next one runs."""
    slots = int(helpers.worker_env().get("PROJECT_FILE_SLOTS") or 2)
    threads = int(helpers.worker_env().get("WORKER_THREADS") or 8)
    if threads <= slots + 1:
        return  # no thread left to be refused on
    auth, pid = user_and_project()
    sock = helpers.worker_sockets()[0]
    headers = {"Content-Type": "application/json",
               "Authorization": auth["Authorization"]}
    held = [_stalled_import(sock, auth) for _ in range(slots)]
    try:
        # The worker hands the stalled imports to threads on its own time:
        # until both hold their slots, an export still gets one (200).
        for attempt in range(20):
            status, answer, data = fcgi_client.request(
                sock, "GET", "/api/projects/%s/export" % pid,
                headers=headers, timeout=60)
            if status != 200:
                break
        _assert_busy(status, answer, data, attempt)
        _assert_busy(*fcgi_client.request(
            sock, "POST", "/api/projects/import", body=b"{}",
            headers=headers, timeout=60))
        # The other requests of the worker are not held up.
        status, _, _ = fcgi_client.request(
            sock, "GET", "/api/projects/%s" % pid,
            headers={"Authorization": auth["Authorization"]})
        assert status == 200, status
    finally:
        for conn in held:
            conn.close()
    status, _, data = fcgi_client.request(
        sock, "GET", "/api/projects/%s/export" % pid,
        headers={"Authorization": auth["Authorization"]}, timeout=60)
    assert status == 200, (status, data[:300])


def test_export_of_another_users_project_is_404():
    auth, project, _ = full_project()
    other, _ = user_and_project()
    expect_error(export(other, project), 404, "not_found")
    expect_error(export(other, project, "md"), 404, "not_found")
    expect_error(request("GET", "/api/projects/%s/export" % project), 401)


def test_brainstormctl_project_export_and_import():
    auth, project, _ = full_project()
    done = helpers.brainstormctl("project", "export", project)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert normalized(doc) == normalized(export(auth, project).json())
    done = helpers.brainstormctl("project", "export", project, "--format",
                                 "md")
    assert done.returncode == 0 and done.stdout.startswith("# Turns\n"), done
    done = helpers.brainstormctl("project", "export", str(uuid.uuid4()))
    assert done.returncode == 1 and "no project" in done.stderr, done
    done = helpers.brainstormctl("project", "export", project, "--format",
                                 "pdf")
    assert done.returncode == 2, done

    owner = helpers.register_user("ctl-import")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        name = f.name
    try:
        done = helpers.brainstormctl("project", "import", name, "--owner",
                                     owner.email.upper())
        assert done.returncode == 0, done.stderr
        new_id = re.match(r"^imported (\S+) for ", done.stdout).group(1)
        r = request("GET", "/api/projects/%s" % new_id,
                    headers=owner.headers())
        assert r.status == 200 and r.json()["title"] == "Turns", r
        r = export(owner.headers(), new_id)
        assert normalized(r.json()) == normalized(doc)
        # The person who owned the original sees no new project of theirs.
        expect_error(export(auth, new_id), 404)
        done = helpers.brainstormctl("project", "import", name, "--owner",
                                     "nobody-%s@example.com" % uuid.uuid4().hex)
        assert done.returncode == 1 and "no account" in done.stderr, done
        doc["items"][0]["state"] = "done"
        with open(name, "w") as f:
            json.dump(doc, f)
        done = helpers.brainstormctl("project", "import", name, "--owner",
                                     owner.email)
        assert done.returncode == 1, done
        assert "items[0].state" in done.stderr, done.stderr
        done = helpers.brainstormctl("project", "import", name)
        assert done.returncode == 2, done
    finally:
        os.unlink(name)
    rows = psql("SELECT count(*) FROM projects WHERE owner_id = :'o'",
                o=owner.id)
    assert rows == [["1"]], rows
