"""Text that people write, beyond its length: names and titles others see
are one line without control characters or direction overrides, and not
blank; texts hold no control characters but tabs and line breaks, and the
required ones are not blank (a blank message queues no turn)."""

from helpers import api, create_item, create_project, expect_invalid, \
    psql, register_user

RLO = "\u202e"  # right-to-left override: "Bob\u202exE" reads "BobEx"


def test_names_and_titles_are_one_line_and_not_blank():
    user = register_user("person-text")
    pid = create_project(user.token)["id"]
    failures = []
    cases = [
        ("PATCH", "/api/auth/me", "display_name", "Ada" + RLO + "nworB"),
        ("PATCH", "/api/auth/me", "display_name", "Ada\u2066x\u2069"),
        ("PATCH", "/api/auth/me", "display_name", "   "),
        ("PATCH", "/api/auth/me", "display_name", "Ada\nLovelace"),
        ("PATCH", "/api/auth/me", "display_name", "Ada\u0007"),
        ("POST", "/api/projects", "title", "\u00a0 \t"),
        ("POST", "/api/projects", "title", "Plan" + RLO + "fdp.exe"),
        ("POST", "/api/projects", "title", "two\nlines"),
        ("PATCH", "/api/projects/" + pid, "title", " "),
    ]
    for method, path, field, value in cases:
        try:
            expect_invalid(api(method, path, user.token, {field: value}),
                           field)
        except AssertionError as e:
            failures.append("%s %s %r: %s" % (method, path, value, e))
    email = register_user("person-text-b").email
    try:
        expect_invalid(api("POST", "/api/auth/register", None,
                           {"email": "x" + email, "password": "a passphrase "
                            "long enough", "display_name": "Eve" + RLO}),
                       "display_name")
    except AssertionError as e:
        failures.append("register: %s" % e)
    assert not failures, "\n".join(failures)
    # Names in any script, with emoji, and "" (no name) are fine.
    for name in ("Zo\u00eb \u05e9\u05dc\u05d5\u05dd \U0001f600", ""):
        resp = api("PATCH", "/api/auth/me", user.token, {"display_name": name})
        assert resp.status == 200, resp
        assert resp.json()["user"]["display_name"] == name, resp


def test_texts_hold_line_breaks_but_no_controls_and_are_not_blank():
    user = register_user("person-text-c")
    project = create_project(user.token)
    pid = project["id"]
    item = create_item(user.token, pid, text="keep")
    items = "/api/projects/%s/items" % pid
    messages = "/api/projects/%s/messages" % pid
    failures = []
    for method, path, body, field in [
            ("POST", items, {"text": " \n\t "}, "text"),
            ("POST", items, {"text": "a\u001b[31mb"}, "text"),
            ("POST", items, {"text": "t", "user_quote": "a\u0000b"},
             "user_quote"),
            ("POST", items, {"text": "t", "user_quote": "a\u0085b"},
             "user_quote"),
            ("PATCH", items + "/" + item["id"],
             {"text": "\u3000", "version": item["version"]}, "text"),
            ("PATCH", items + "/" + item["id"],
             {"state": "parked", "reason": "a\u0008b",
              "version": item["version"]}, "reason"),
            ("PATCH", "/api/projects/" + pid,
             {"description": "a\u0007", "version": project["version"]},
             "description"),
            ("POST", messages, {"content": "  \n "}, "content"),
            ("POST", messages, {"content": "hi\u0007"}, "content")]:
        try:
            expect_invalid(api(method, path, user.token, body), field)
        except AssertionError as e:
            failures.append("%s %s %r: %s" % (method, path, body, e))
    assert not failures, "\n".join(failures)
    # Nothing was stored: no message, so no turn; the item as it was.
    assert psql("SELECT count(*) FROM messages WHERE project_id = :'p'",
                p=pid) == [["0"]]
    assert psql("SELECT count(*) FROM turns WHERE project_id = :'p'",
                p=pid) == [["0"]]
    resp = api("GET", items + "/" + item["id"] + "/history", user.token)
    assert resp.status == 200 and len(resp.json()["events"]) == 1, resp
    # Tabs, line breaks and direction marks inside a text are fine.
    text = "first line\n\tsecond, \u05e9\u05dc\u05d5\u05dd " + RLO + "x\r\n"
    resp = api("POST", items, user.token, {"text": text, "user_quote": text})
    assert resp.status == 201, resp
    assert resp.json()["text"] == text, resp
    resp = api("PATCH", "/api/projects/" + pid, user.token,
               {"description": "   ", "version": project["version"]})
    assert resp.status == 200, resp


def test_an_import_follows_the_rules():
    """An export made before these rules imports, cleaned: the title one
    line without overrides, texts without control characters."""
    user = register_user("person-text-import")
    doc = {"format": "brainstorm.project", "format_version": 1,
           "project": {"title": "Bob" + RLO + "etihw\tplan",
                       "description": "a\u0007b"},
           "items": [{"id": "20000000-0000-4000-8000-000000000001",
                      "text": "x\u001b[1my", "state": "exploring",
                      "user_quote": "q\u000cr"}]}
    resp = api("POST", "/api/projects/import", user.token, doc)
    assert resp.status == 201, resp
    project = resp.json()
    assert project["title"] == "Bobetihw plan", project
    assert project["description"] == "ab", project
    items = api("GET", "/api/projects/%s/items" % project["id"],
                user.token).json()["items"]
    assert [(i["text"], i["user_quote"]) for i in items] == \
        [("x[1my", "qr")], items
    doc["project"]["title"] = RLO + "\n"
    err = expect_invalid(api("POST", "/api/projects/import", user.token, doc),
                         "project.title")
    assert "blank" in err["message"], err
