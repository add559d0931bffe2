"""`insureflow users …` and `insureflow tokens …`: the operator administers users through the same engine
functions as the web page; JSON output, one-line errors and the documented exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from insureflow.cli import cli
from tests.cli.conftest import Cli

GOOD_PASSWORD = "correct horse battery"


def _typed(run: Cli, stdin: str, *args: str) -> Result:
    """Run with text typed at the prompts."""
    argv = ["--instance", str(run.folder), "--json", *args]
    return CliRunner().invoke(cli, argv, input=stdin, env=run.env, catch_exceptions=False)


def _users(run: Cli) -> dict[str, dict[str, object]]:
    return {u["username"]: u for u in run.json("users", "list")}


def _error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_roles_replaces_the_roles_and_says_what_changed(run: Cli) -> None:
    result = run.json("users", "roles", "mgr", "--role", "claims_manager", "--role", "finance")
    assert result == {"username": "mgr", "changed": {"roles": {"added": ["finance"], "removed": ["adjuster"]}}}
    assert _users(run)["mgr"]["roles"] == ["claims_manager", "finance"]
    text = run("users", "roles", "mgr", "--role", "finance", "--role", "claims_manager")
    assert text.exit_code == 0 and "already has exactly these roles" in text.stdout


def test_an_unknown_role_or_user_is_refused_with_its_exit_code(run: Cli) -> None:
    wizard = run("users", "roles", "clerk", "--role", "wizard")
    assert wizard.exit_code == 6 and "unknown role(s): wizard" in _error_line(wizard)
    nobody = run("users", "deactivate", "nobody")
    assert nobody.exit_code == 3 and "no user named 'nobody'" in _error_line(nobody)
    assert run("users", "roles", "clerk").exit_code == 2  # --role is required
    assert _users(run)["clerk"]["roles"] == ["claims_clerk"]


def test_a_deactivated_user_can_act_no_more_until_activated(run: Cli) -> None:
    assert run.json("tasks", "--as", "clerk")["tasks"] == []
    assert run.json("users", "deactivate", "clerk")["changed"] == {"active": False}
    assert _users(run)["clerk"]["active"] is False
    refused = run("tasks", "--as", "clerk")
    assert refused.exit_code == 4 and "deactivated" in _error_line(refused)
    again = run("users", "deactivate", "clerk")
    assert again.exit_code == 0 and "already inactive" in again.stdout
    assert run.json("users", "activate", "clerk")["changed"] == {"active": True}
    assert run("tasks", "--as", "clerk").exit_code == 0


def test_the_last_active_admin_cannot_be_deactivated_or_lose_the_role(run: Cli) -> None:
    assert run("users", "add", "root", "--role", "admin").exit_code == 0
    deactivate = run("users", "deactivate", "root")
    assert deactivate.exit_code == 5 and "root is the last active administrator" in _error_line(deactivate)
    demote = run("users", "roles", "root", "--role", "auditor", json_out=True)
    assert demote.exit_code == 5 and json.loads(demote.stdout)["error"]["details"] == {"rule": "last_admin"}
    assert run("users", "add", "deputy", "--role", "admin").exit_code == 0
    assert run.json("users", "deactivate", "root")["changed"] == {"active": False}


def test_a_password_is_set_from_the_option_or_typed_twice(run: Cli) -> None:
    assert run.json("users", "password", "adj", "--password", GOOD_PASSWORD)["changed"] == {"password": "reset"}
    typed = _typed(run, "first attempt 123\nsecond attempt 456\nanother passphrase\nanother passphrase\n",
                   "users", "password", "clerk")
    assert typed.exit_code == 0, typed.stderr
    assert json.loads(typed.stdout) == {"username": "clerk", "changed": {"password": "reset"}}  # prompts not in it
    assert "New password" in typed.stderr and "do not match" in typed.stderr
    log = run.json("users", "log", "clerk")
    assert [entry["change"] for entry in log][:-1] == [{"password": "reset"}]  # the last: created by the fixture
    assert "another passphrase" not in json.dumps(log)


def test_a_weak_password_is_refused_and_the_reason_given(run: Cli) -> None:
    short = run("users", "password", "adj", "--password", "short")
    assert short.exit_code == 6 and "at least 10 characters" in _error_line(short)
    named = run("users", "password", "adj", "--password", "adj")
    assert named.exit_code == 6
    same = run("users", "add", "claims.wang", "--role", "claims_clerk", "--password", "Claims.Wang")
    assert same.exit_code == 6 and "must not be the user name" in _error_line(same)
    assert "claims.wang" not in _users(run)
    assert [e["change"] for e in run.json("users", "log", "adj")] == [{"created": {"display_name": "adj",
                                                                                   "roles": ["adjuster"]}}]


def test_the_unmask_permission_is_granted_and_withdrawn(run: Cli) -> None:
    assert run.json("users", "unmask", "boss", "--grant")["changed"] == {"may_unmask": True}
    assert run.json("users", "unmask", "boss", "--grant")["changed"] == {}
    withdrawn = run("users", "unmask", "boss", "--withdraw")
    assert withdrawn.exit_code == 0 and "boss may no longer reveal masked personal data" in withdrawn.stdout
    assert run("users", "unmask", "boss").exit_code == 2  # the choice is required
    assert [e["change"] for e in run.json("users", "log", "boss")][:2] == [{"may_unmask": False},
                                                                           {"may_unmask": True}]


def test_tokens_are_listed_without_the_token_and_revoked(run: Cli) -> None:
    first = run.json("tokens", "create", "adj")["token"]
    run.json("tokens", "create", "adj")
    listed = run.json("tokens", "list", "adj")
    assert [t["revoked_at"] for t in listed] == [None, None] and first not in json.dumps(listed)
    older = listed[1]["id"]
    assert run.json("tokens", "revoke", "adj", "--id", str(older)) == {"username": "adj", "revoked": [older]}
    twice = run("tokens", "revoke", "adj", "--id", str(older))
    assert twice.exit_code == 5 and "already revoked" in _error_line(twice)
    assert run("tokens", "revoke", "clerk", "--id", str(older)).exit_code == 3  # not clerk's token
    assert run.json("tokens", "revoke", "adj") == {"username": "adj", "revoked": [listed[0]["id"]]}
    assert all(t["revoked_at"] for t in run.json("tokens", "list", "adj"))
    text = run("tokens", "revoke", "adj")
    assert text.exit_code == 0 and "0 API token(s) of adj revoked" in text.stdout


def test_every_change_is_in_the_log_as_done_by_the_operator(run: Cli) -> None:
    run.json("users", "add", "zhang.san", "--role", "siu", "--display-name", "Zhang San", "--password", GOOD_PASSWORD)
    run.json("users", "roles", "zhang.san", "--role", "siu", "--role", "finance")
    run.json("users", "deactivate", "zhang.san")
    log = run.json("users", "log", "zhang.san")
    assert [(e["actor"], e["change"]) for e in log] == [
        ("operator", {"active": False}),
        ("operator", {"roles": {"added": ["finance"], "removed": []}}),
        ("operator", {"created": {"display_name": "Zhang San", "password": "set", "roles": ["siu"]}}),
    ]
    text = run("users", "log", "zhang.san")
    assert text.exit_code == 0 and text.stdout.splitlines()[0].split() == ["WHEN", "BY", "CHANGE"]
    assert GOOD_PASSWORD not in text.stdout
