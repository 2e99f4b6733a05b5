"""The Faker provider: seeded, realistic, and consistent with the spec."""

from __future__ import annotations

import re

import pytest
from faker import Faker
from openapi_schema_validator import oas31_format_checker

from generators import KoreProvider, kore_faker
from generators._casework import PRIORITIES, STATUSES, TASK_NAMES
from generators._ids import ACCOUNT_ID_REGEX, id_regex
from generators._people import DEFAULT_LOCALES, E164_REGEX, LOCALES
from spec import load_spec
from tests.generators.helpers import body_errors

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createTask")
METHODS = [
    "stream_id",
    "user_id",
    "org_id",
    "app_id",
    "case_id",
    "task_id",
    "task_template_id",
    "status_id",
    "field_id",
    "priority_id",
    "case_ref_id",
    "task_ref_id",
    "account_id",
    "kore_email",
    "e164_phone_number",
    "user_info",
    "task_name",
    "task_description",
    "task_source",
    "task_status",
    "task_priority",
    "create_task_request",
]


def _values(seed: int) -> list[object]:
    fake = kore_faker(seed)
    return [getattr(fake, method)() for _ in range(5) for method in METHODS]


def test_same_seed_same_values() -> None:
    assert _values(11) == _values(11)
    assert _values(11) != _values(12)


@pytest.mark.parametrize(
    ("method", "prefix"),
    [
        ("stream_id", "st"),
        ("user_id", "u"),
        ("org_id", "o"),
        ("app_id", "cs"),
        ("case_id", "ci"),
        ("task_id", "ti"),
        ("task_template_id", "ttm"),
        ("status_id", "sts"),
        ("field_id", "fd"),
        ("priority_id", "pr"),
    ],
)
def test_ids_have_their_prefix_form(method: str, prefix: str) -> None:
    fake = kore_faker(1)
    for _ in range(20):
        assert re.fullmatch(id_regex(prefix), getattr(fake, method)())
        assert re.fullmatch(id_regex(prefix), fake.kore_id(prefix))


def test_references_and_account_ids() -> None:
    fake = kore_faker(2)
    for _ in range(20):
        assert re.fullmatch(r"CS[0-9]{6}", fake.case_ref_id())
        assert re.fullmatch(r"TS[0-9]{6}", fake.task_ref_id())
        assert re.fullmatch(ACCOUNT_ID_REGEX, fake.account_id())


@pytest.mark.parametrize("locale", DEFAULT_LOCALES)
def test_people_of_each_locale(locale: str) -> None:
    fake = kore_faker(3, locales=[locale])
    table = LOCALES[locale]
    for _ in range(10):
        user = fake.user_info(("_id", "emailId", "phoneNumber"))
        assert list(user) == ["_id", "name", "emailId", "phoneNumber"]
        assert re.fullmatch(E164_REGEX, user["phoneNumber"])
        assert user["phoneNumber"].startswith("+" + table.calling_code)
        assert user["emailId"].isascii()
        assert oas31_format_checker.conforms(user["emailId"], "email")
        assert any(g.written in user["name"] for g in table.given_names)


def test_people_span_several_locales() -> None:
    fake = kore_faker(4)
    codes = {fake.e164_phone_number()[:3] for _ in range(200)}
    assert len(codes) >= 5


def test_task_texts_read_like_case_work() -> None:
    fake = kore_faker(5)
    assert fake.task_name() in TASK_NAMES
    description = fake.task_description()
    assert description.endswith(".") and "lorem" not in description.lower()


def test_status_and_priority_levels() -> None:
    fake = kore_faker(6)
    assert {fake.task_priority()["name"] for _ in range(100)} == set(PRIORITIES)
    assert {fake.task_status()["name"] for _ in range(100)} == {s["name"] for s in STATUSES}
    assert re.fullmatch(id_regex("pr"), fake.task_priority()["_id"])


def test_medium_priority_and_open_status_are_the_seed_samples() -> None:
    sample = OPERATION.response_examples()["seed-sample"]
    assert {k: v for k, v in sample["priority"].items() if k != "_id"} == dict(PRIORITIES["Medium"])
    assert {k: v for k, v in sample["status"].items() if k != "_id"} == dict(STATUSES[0])


def test_system_fields_are_the_seed_samples_with_new_ids() -> None:
    fields = kore_faker(7).system_fields()
    sample = OPERATION.response_examples()["seed-sample"]["fields"]
    assert [f["displayName"] for f in fields] == ["Due Date", "Description", "Title"]
    assert [{**f, "_id": None} for f in fields] == [{**f, "_id": None} for f in sample]
    assert all(re.fullmatch(id_regex("fd"), f["_id"]) for f in fields)


def test_provider_requests_are_valid() -> None:
    fake = kore_faker(8)
    for _ in range(40):
        assert body_errors(CONTRACT, fake.create_task_request()) == []


def test_provider_works_on_a_plain_faker() -> None:
    fake = Faker("de_DE")
    fake.add_provider(KoreProvider)
    fake.seed_instance(1)
    assert fake.e164_phone_number().startswith("+49")


@pytest.mark.parametrize("locales", [["xx_XX"], [], "en_US"])
def test_unsupported_locales_are_a_clear_error(locales: object) -> None:
    with pytest.raises(ValueError, match="locale"):
        kore_faker(1, locales=locales)  # type: ignore[arg-type]


def test_unknown_contact_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="contacts"):
        kore_faker(1).user_info(("fax",))
