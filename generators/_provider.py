"""A Faker provider of Kore-style values: ids, people, case-management task texts and defaults."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Collection, Sequence
from typing import Any

from faker import Faker
from faker.providers import BaseProvider

from generators._casework import PRIORITIES, SOURCES, STATUSES, TASK_NAMES, TASK_NEXT_STEPS, TASK_SITUATIONS
from generators._casework import task_description as _describe
from generators._ids import (
    HEX_DIGITS,
    OBJECT_ID_EPOCHS,
    case_ref_id,
    format_id,
    nibble_count,
    normalize_prefix,
    task_ref_id,
)
from generators._people import (
    DEFAULT_LOCALES,
    EMAIL_DOMAINS,
    EMAIL_FORMS,
    LOCALES,
    Person,
    check_locales,
    e164,
)

CONTACTS: tuple[str, ...] = ("_id", "emailId", "phoneNumber")
# ObjectIds start with their creation time in seconds: 2023-01-01 .. 2026-01-01 keeps them plausible.


def _locale_of(generator: Any) -> str:
    """The Faker locale of `generator`, mapped onto the people tables (same language, else en_US)."""
    try:
        lang = str(generator.provider("faker.providers.person").__lang__)
    except AttributeError:
        return "en_US"
    if lang in LOCALES:
        return lang
    same_language = [locale for locale in LOCALES if locale.split("_")[0] == lang.split("_")[0]]
    return same_language[0] if same_language else "en_US"


class KoreProvider(BaseProvider):
    """Faker provider of Kore.ai Case Management values.

    Example:
        >>> fake = kore_faker(7)
        >>> fake.task_id().startswith("ti-"), len(fake.account_id())
        (True, 24)
    """

    def __init__(self, generator: Any, *, locale: str | None = None) -> None:
        super().__init__(generator)
        self.kore_locale = check_locales([locale])[0] if locale is not None else _locale_of(generator)

    # Ids -------------------------------------------------------------------------------------

    def kore_id(self, prefix: str) -> str:
        """An id of `prefix`'s form: 8-4-4-4-12 for st/u/o/cs, 7-4-4-4-12 for ci/ti/ttm/sts/fd/pr."""
        bare = normalize_prefix(prefix)
        return format_id(bare, [self.generator.random.randrange(16) for _ in range(nibble_count(bare))])

    def stream_id(self) -> str:
        """A bot (stream) id, `st-...`."""
        return self.kore_id("st")

    def user_id(self) -> str:
        """A user id, `u-...`."""
        return self.kore_id("u")

    def org_id(self) -> str:
        """An organisation id, `o-...`."""
        return self.kore_id("o")

    def app_id(self) -> str:
        """An app's client id, `cs-...` (the JWT `appId` claim)."""
        return self.kore_id("cs")

    def case_id(self) -> str:
        """A case id, `ci-...`."""
        return self.kore_id("ci")

    def task_id(self) -> str:
        """A task id, `ti-...`."""
        return self.kore_id("ti")

    def task_template_id(self) -> str:
        """A task template id, `ttm-...`."""
        return self.kore_id("ttm")

    def status_id(self) -> str:
        """A status id, `sts-...`."""
        return self.kore_id("sts")

    def field_id(self) -> str:
        """A field id, `fd-...`."""
        return self.kore_id("fd")

    def priority_id(self) -> str:
        """A priority id, `pr-...`."""
        return self.kore_id("pr")

    def case_ref_id(self) -> str:
        """A case reference, `CS` + six digits."""
        return case_ref_id(self.generator.random.randrange(1, 1_000_000))

    def task_ref_id(self) -> str:
        """A task reference, `TS` + six digits."""
        return task_ref_id(self.generator.random.randrange(1, 1_000_000))

    def account_id(self) -> str:
        """An account id: a 24-hex ObjectId whose first 8 digits are a plausible creation time."""
        random = self.generator.random
        seconds = random.randrange(*OBJECT_ID_EPOCHS)
        return f"{seconds:08x}" + "".join(random.choice(HEX_DIGITS) for _ in range(16))

    # People ----------------------------------------------------------------------------------

    def kore_person(self) -> Person:
        """A person of this provider's locale."""
        table = LOCALES[self.kore_locale]
        return Person(
            self.kore_locale,
            self.random_element(table.given_names),
            self.random_element(table.family_names),
        )

    def kore_email(self, person: Person | None = None) -> str:
        """An email address of `person` (a new person when None) at a reserved domain."""
        person = person or self.kore_person()
        return person.email(
            self.random_element(EMAIL_FORMS), self.random_element(EMAIL_DOMAINS), self.random_int(1, 99)
        )

    def e164_phone_number(self, locale: str | None = None) -> str:
        """A mobile number of `locale` (this provider's by default) in E.164, `+46701740623`."""
        table = LOCALES[check_locales([locale])[0] if locale else self.kore_locale]
        national = "".join(
            str(self.generator.random.randrange(10)) if c == "#" else c
            for c in self.random_element(table.mobile_forms)
        )
        return e164(table.calling_code, national)

    def user_info(self, contacts: Collection[str] = ("_id", "emailId")) -> dict[str, Any]:
        """A request's `userInfo`: a person's name plus the contacts named (`_id`, `emailId`, `phoneNumber`)."""
        unknown = set(contacts) - set(CONTACTS)
        if isinstance(contacts, str) or unknown or not contacts:
            raise ValueError(f"contacts must name some of {CONTACTS}, got {contacts!r}")
        person = self.kore_person()
        values = {
            "_id": self.user_id(),
            "name": person.name,
            "emailId": self.kore_email(person),
            "phoneNumber": self.e164_phone_number(),
        }
        order = ("_id", "name", "emailId", "phoneNumber")
        return {key: values[key] for key in order if key == "name" or key in contacts}

    # Tasks -----------------------------------------------------------------------------------

    def task_name(self) -> str:
        """A case-management task name, `Call back customer about refund`."""
        return str(self.random_element(TASK_NAMES))

    def task_description(self) -> str:
        """A task description: a situation and the next step."""
        return _describe(self.random_element(TASK_SITUATIONS), self.random_element(TASK_NEXT_STEPS))

    def task_source(self) -> str:
        """A case source (`rtm` is the seed page's)."""
        return str(self.random_element(SOURCES))

    def task_status(self) -> dict[str, str]:
        """A task status with a new id: `{_id, name, statusCategory}`."""
        return {"_id": self.status_id(), **self.random_element(STATUSES)}

    def task_priority(self) -> dict[str, Any]:
        """A task priority with a new id: `{_id, name, color, score}`."""
        return {"_id": self.priority_id(), **self.random_element(list(PRIORITIES.values()))}

    def system_fields(self) -> list[dict[str, Any]]:
        """The system fields Due Date, Description and Title as the seed response shows them, with new ids."""
        from generators._builder import seed_sample_task
        from spec import load_spec

        fields = copy.deepcopy(seed_sample_task(load_spec())["fields"])
        for field in fields:
            field["_id"] = self.field_id()
        return fields  # type: ignore[no-any-return]

    def create_task_request(self) -> dict[str, Any]:
        """A realistic Create a task request body (contacts, name and description vary)."""
        contact_sets = (
            ("_id", "emailId"),
            ("_id",),
            ("emailId",),
            ("phoneNumber",),
            ("emailId", "phoneNumber"),
        )
        body: dict[str, Any] = {
            "caseId": self.case_id(),
            "caseRefId": self.case_ref_id(),
            "taskTmp": self.task_template_id(),
        }
        if self.generator.random.random() < 0.85:
            body["name"] = self.task_name()
        body["userInfo"] = self.user_info(self.random_element(contact_sets))
        body["source"] = self.task_source()
        if self.generator.random.random() < 0.5:
            body["desc"] = self.task_description()
        return body


def kore_faker(seed: int, *, locales: Sequence[str] = DEFAULT_LOCALES) -> Faker:
    """A Faker over `locales` with KoreProvider added, seeded: same seed, same values.

    Example:
        >>> kore_faker(1).task_id() == kore_faker(1).task_id()
        True
    """
    chosen = check_locales(locales)
    fake = Faker(list(chosen))
    for locale in chosen:
        fake[locale].add_provider(KoreProvider(fake[locale], locale=locale))
    for locale in chosen:
        # One stream per locale: seeding them all alike would repeat the same ids across locales.
        fake.seed_locale(
            locale, int.from_bytes(hashlib.sha256(f"{seed}/{locale}".encode()).digest()[:8], "big")
        )
    return fake
