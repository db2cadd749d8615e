"""Substitution, loop scopes, secure values and redaction."""

from __future__ import annotations

import time

import pytest

from optexity_runner.errors import PlaceholderError
from optexity_runner.placeholders import find_placeholders, substitute
from optexity_runner.totp import totp
from optexity_runner.variables import LoopFrame, Redactor, Scope, Variables
from schemas.parameters import Parameters

SECRET = "JBSWY3DPEHPK3PXP"


def make_scope(monkeypatch: pytest.MonkeyPatch, **overrides: list[str]) -> Scope:
    monkeypatch.setenv("PORTAL_PASSWORD", "hunter2-secret")
    parameters = Parameters.model_validate(
        {
            "input_parameters": {"user": ["alice", "bob"], "trick": ["{pw[0]}"]},
            "generated_parameters": {"found": []},
            "secure_parameters": {
                "pw": [{"env": "PORTAL_PASSWORD"}],
                "otp": [{"totp": {"totp_secret": SECRET, "digits": 6}}],
            },
        }
    )
    variables = Variables(parameters, overrides, Redactor())

    def no_page() -> object:
        raise AssertionError("no page needed")

    return Scope(variables, no_page)  # type: ignore[arg-type]


def test_values_by_index(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch)
    assert substitute("{user[0]} and {user[1]}", scope) == "alice and bob"


def test_substitution_is_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch)
    # The value "{pw[0]}" is inserted as text and never expanded into the secret.
    assert substitute("typed: {trick[0]}", scope) == "typed: {pw[0]}"


def test_command_line_overrides_input_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch, user=["carol"])
    assert substitute("{user[0]}", scope) == "carol"


def test_unknown_variable_and_index_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch)
    with pytest.raises(PlaceholderError, match="unknown variable 'nobody'"):
        substitute("{nobody[0]}", scope)
    with pytest.raises(PlaceholderError, match="has 2 value"):
        substitute("{user[5]}", scope)


def test_bare_braces_are_literal_unless_an_index_is_in_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scope = make_scope(monkeypatch)
    assert substitute("a {json} b", scope) == "a {json} b"
    inner = scope.enter(LoopFrame("row", 1, ("user",)))
    assert substitute("{row}: {user[row]} ({index_of(user)})", inner) == "1: bob (1)"


def test_nested_loops_keep_their_own_index(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch).enter(LoopFrame("i", 1)).enter(LoopFrame("j", 0))
    assert substitute("{i}-{j}", scope) == "1-0"


def test_secure_values_are_produced_at_use_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch)
    redactor = scope.variables.redactor
    assert substitute("{pw[0]}", scope) == "hunter2-secret"
    code = substitute("{otp[0]}", scope)
    assert code in {
        totp(SECRET, at=time.time() - 30),
        totp(SECRET),
        totp(SECRET, at=time.time() + 30),
    }
    assert redactor.text("pw=hunter2-secret otp=" + code) == "pw=[secret] otp=[secret]"
    assert redactor.data({"a": ["x hunter2-secret"]}) == {"a": ["x [secret]"]}


def test_missing_environment_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = make_scope(monkeypatch)
    monkeypatch.delenv("PORTAL_PASSWORD")
    with pytest.raises(PlaceholderError, match="PORTAL_PASSWORD"):
        substitute("{pw[0]}", scope)


def test_placeholder_forms_are_recognised() -> None:
    kinds = [
        (p.kind, p.name, p.index) for p in find_placeholders("{a[0]} {b[i]} {c} {index_of(d)}")
    ]
    assert kinds == [
        ("value", "a", 0),
        ("value", "b", "i"),
        ("name", "c", None),
        ("index_of", "d", None),
    ]


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_totp_matches_rfc_6238(at: int, code: str) -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp(secret, digits=8, at=at) == code


def test_secrets_are_redacted_in_their_encoded_forms() -> None:
    redactor = Redactor()
    redactor.add("p@ss word&<1>")
    seen = (
        "url=https://x.test/?pw=p%40ss%20word%26%3C1%3E "
        "form=pw=p%40ss+word%26%3C1%3E html=p@ss word&amp;&lt;1&gt; raw=p@ss word&<1>"
    )
    assert redactor.text(seen) == (
        "url=https://x.test/?pw=[secret] form=pw=[secret] html=[secret] raw=[secret]"
    )
    assert redactor.binary(b'{"value": "p@ss word&<1>"}') == b'{"value": "[secret]"}'
