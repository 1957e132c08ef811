"""Call scripts: validation names what is wrong; placeholders are filled."""

import pytest

from engine.exceptions import ConfigError
from engine.web.scripts import fill_script, validate_script


def test_validate_script_missing_parts_become_empty() -> None:
    clean = validate_script({"opening": "Hi"})

    assert clean == {
        "opening": "Hi",
        "identity_check": "",
        "purpose": "",
        "body": "",
        "closing": "",
        "questions": [],
    }


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (["opening"], "script must be a JSON object"),
        ({"greeting": "x"}, "unknown script parts: greeting"),
        ({"opening": 5}, "script part opening must be text"),
        ({"body": "x" * 4001}, "script part body must be text"),
        ({"questions": "why?"}, "script questions must be a list"),
        ({"questions": [{"a": "yes"}]}, "script question 1 needs a text 'q'"),
        ({"questions": [{"q": "why", "a": 1}]}, "script question 1: 'a' must be text"),
    ],
)
def test_validate_script_bad_input_names_the_fault(
    script: object, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_script(script)

    assert str(caught.value).startswith(message)


def test_fill_script_replaces_institution_and_operator() -> None:
    script = {
        "opening": "This is {operator} of {institution}.",
        "questions": [{"q": "Who is {institution}?", "a": "A bank."}],
    }

    filled = fill_script(script, institution="Example Bank", operator="Li Na")

    assert filled["opening"] == "This is Li Na of Example Bank."
    assert filled["questions"] == [{"q": "Who is Example Bank?", "a": "A bank."}]


def test_fill_script_none_gives_empty_parts() -> None:
    filled = fill_script(None, institution="B", operator="O")

    assert filled["opening"] == ""
    assert filled["questions"] == []
