"""Hypothesis strategies of realistic values, built from the provider's tables (never from Faker calls)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from generators._casework import (
    CASE_NAMES,
    CASE_PROGRESS,
    CASE_REPORTS,
    CASE_TEMPLATES,
    CHANNELS,
    PRIORITIES,
    QUEUES,
    SOURCES,
    STATUSES,
    TASK_NAMES,
    TASK_NEXT_STEPS,
    TASK_SITUATIONS,
    case_description,
    task_description,
)
from generators._ids import OBJECT_ID_EPOCHS, account_id, case_ref_id, id_from_number, nibble_count
from generators._people import (
    BAD_EMAIL_SEPARATORS,
    EMAIL_DOMAINS,
    EMAIL_FORMS,
    LOCALES,
    Person,
    e164,
)

# Free text reaches these lengths when the schema sets no maxLength ("a few hundred characters").
FREE_TEXT_MAX = 300
LONG_TEXT_MIN = 120

# Whitespace a person or a copy-paste leaves around or inside text.
SPACES: tuple[str, ...] = ("", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\u3000")
# Any printable character of any script, plus the whitespace above; no surrogates, no C0/C1 controls.
WILD_CHARACTERS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    st.sampled_from([c for c in SPACES if len(c) == 1]),
)


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: empty, or only whitespace and invisible format characters."""
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp") for c in text)


def kore_ids(prefix: str) -> st.SearchStrategy[str]:
    """Ids of `prefix`'s form (`ci-73acd32-0123-4114-9891-00a950aa1b2c`)."""
    # One integer per id rather than a regex: one choice to draw and shrink instead of thirty.
    return st.integers(0, 16 ** nibble_count(prefix) - 1).map(lambda number: id_from_number(prefix, number))


def account_ids() -> st.SearchStrategy[str]:
    """Account ids: 24-hex ObjectIds whose first 8 digits are a plausible creation time."""
    return st.builds(account_id, st.integers(*OBJECT_ID_EPOCHS), st.integers(0, 16**16 - 1))


def case_ref_ids() -> st.SearchStrategy[str]:
    """Case references, `CS` + six digits from 000001 (a sequence starts at 1)."""
    return st.integers(1, 999_999).map(case_ref_id)


def sources() -> st.SearchStrategy[str]:
    """Case sources; shrinks to the seed page's `rtm`."""
    return st.sampled_from(SOURCES)


def people(locales: Sequence[str]) -> st.SearchStrategy[Person]:
    """People of `locales` (given and family name of the same locale)."""
    return st.one_of(
        [
            st.builds(
                Person,
                st.just(locale),
                st.sampled_from(LOCALES[locale].given_names),
                st.sampled_from(LOCALES[locale].family_names),
            )
            for locale in locales
        ]
    )


@dataclass(frozen=True)
class OfPerson:
    """A drawn value that depends on the person an object is for, resolved once that person is drawn."""

    make: Callable[[Person], Any]


FALLBACK_PERSON = Person("en_US", LOCALES["en_US"].given_names[0], LOCALES["en_US"].family_names[0])


def person_names(locales: Sequence[str]) -> st.SearchStrategy[str]:
    """Names of people of `locales`, as they write them."""
    return people(locales).map(lambda person: person.name)


def padded_person_names() -> st.SearchStrategy[OfPerson]:
    """The person's name with the whitespace a copy-paste leaves around it."""
    return st.builds(
        lambda before, after: OfPerson(lambda person: before + person.name + after),
        st.sampled_from(SPACES),
        st.sampled_from(SPACES),
    )


def person_emails() -> st.SearchStrategy[OfPerson]:
    """The person's address in one of the usual forms, at a reserved domain."""
    return st.builds(
        lambda form, domain, number: OfPerson(lambda person: person.email(form, domain, number)),
        st.sampled_from(EMAIL_FORMS),
        st.sampled_from(EMAIL_DOMAINS),
        st.integers(1, 99),
    )


def person_phone_numbers() -> st.SearchStrategy[OfPerson]:
    """A mobile number of the person's country in E.164."""
    return st.builds(
        lambda pick, digits: OfPerson(lambda person: mobile_number(person.locale, pick, digits)),
        st.integers(0, 7),
        st.integers(0, 10**12 - 1).map(lambda number: f"{number:012d}"),
    )


def mobile_number(locale: str, pick: int, digits: str) -> str:
    """The `pick`-th mobile form of `locale` filled with `digits`, in E.164."""
    table = LOCALES[locale]
    form = table.mobile_forms[pick % len(table.mobile_forms)]
    filled = iter(digits)
    return e164(table.calling_code, "".join(next(filled) if c == "#" else c for c in form))


def task_names() -> st.SearchStrategy[str]:
    """Case-management task names."""
    return st.sampled_from(TASK_NAMES)


def task_descriptions() -> st.SearchStrategy[str]:
    """Task descriptions: a situation and the next step."""
    return st.builds(task_description, st.sampled_from(TASK_SITUATIONS), st.sampled_from(TASK_NEXT_STEPS))


def free_text(
    schema: Mapping[str, Any], samples: st.SearchStrategy[str], *, required: bool
) -> st.SearchStrategy[str]:
    """Realistic samples first, then wild Unicode, padded, boundary-length and long text the schema allows."""
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    cap = int(high) if high is not None else FREE_TEXT_MAX
    choices = [
        samples,
        st.text(WILD_CHARACTERS, min_size=low, max_size=max(low, min(cap, 40))),
        st.builds(
            lambda before, text, after: before + text + after,
            st.sampled_from(SPACES),
            samples,
            st.sampled_from(SPACES),
        ),
        st.text(WILD_CHARACTERS, min_size=low, max_size=low),
    ]
    if cap >= LONG_TEXT_MIN:
        choices.append(st.text(WILD_CHARACTERS, min_size=max(low, LONG_TEXT_MIN), max_size=cap))
    if high is not None:
        choices.append(st.text(WILD_CHARACTERS, min_size=cap, max_size=cap))
    # Never "": many servers read an empty optional text as "not sent" (JS truthiness), which the
    # seed page neither allows nor forbids; blank-but-not-empty text still exercises whitespace.
    text = st.one_of(choices).filter(lambda s: max(low, 1) <= len(s) <= cap)
    return text.filter(lambda s: not is_blank(s)) if required else text


_WORDS = ("priority", "vip", "callback", "refund", "retention", "web", "mobile", "ivr", "eu-west", "batch-7")
_NAME_PARTS = ("crm", "ticket", "origin", "batch", "agent", "queue", "sla", "tenant")
_EXTRA_NAMES = ("x-client-ref", "x-trace-id", "x-channel", "x-campaign", "x-locale", "x-agent-note")


def realistic_json() -> st.SearchStrategy[Any]:
    """Small JSON values a client tucks into an extra field."""
    scalars = st.one_of(
        st.sampled_from(_WORDS), st.integers(0, 10**6), st.booleans(), st.none(), st.sampled_from(TASK_NAMES)
    )
    return st.one_of(scalars, st.lists(st.sampled_from(_WORDS), max_size=3))


def any_json(*, max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (finite numbers, any text)."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def extra_names(*, realistic: bool) -> st.SearchStrategy[str]:
    """Names of undocumented properties: `x-` names when realistic (no platform field starts so)."""
    if realistic:
        return st.one_of(
            st.sampled_from(_EXTRA_NAMES),
            st.builds("x-{}-{}".format, st.sampled_from(_NAME_PARTS), st.sampled_from(_NAME_PARTS)),
        )
    return st.text(max_size=12)


def values_of_type(json_type: str, *, realistic: bool) -> st.SearchStrategy[Any]:
    """JSON values of exactly `json_type` (numbers are never integral, so they are not integers)."""
    words = st.sampled_from(_WORDS) if realistic else st.text()
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": st.integers(-1000, 10**6) if realistic else st.integers(),
        "number": st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(
            lambda x: not x.is_integer()
        ),
        "string": words,
        "array": st.lists(st.one_of(words, st.integers(0, 99)), max_size=3),
        "object": st.dictionaries(st.sampled_from(_WORDS), st.one_of(words, st.integers(0, 99)), max_size=3),
    }
    return strategies[json_type]


def bad_emails(locales: Sequence[str]) -> st.SearchStrategy[str]:
    """Mistyped addresses of people of `locales`: the `@` is missing or replaced."""
    return st.builds(
        lambda person, form, number, separator, domain: (
            person.email_local_part(form, number) + separator + domain
        ),
        people(locales),
        st.sampled_from(EMAIL_FORMS),
        st.integers(1, 99),
        st.sampled_from(BAD_EMAIL_SEPARATORS),
        st.sampled_from(EMAIL_DOMAINS),
    )


# Display names the stored world uses: what listing filters send (decision filter-matching).
PRIORITY_NAMES: tuple[str, ...] = tuple(PRIORITIES)
STATUS_NAMES: tuple[str, ...] = tuple(status["name"] for status in STATUSES)
CHANNEL_NAMES: tuple[str, ...] = CHANNELS
QUEUE_NAMES: tuple[str, ...] = QUEUES
# Instants drawn for dates: 2024-01-01 .. 2027-01-01 in whole minutes.
_INSTANT_RANGE = (1_704_067_200_000 // 60_000, 1_798_761_600_000 // 60_000)


def case_names() -> st.SearchStrategy[str]:
    """Case names, `Duplicate charge on May invoice`."""
    return st.sampled_from(CASE_NAMES)


def case_descriptions() -> st.SearchStrategy[str]:
    """Case descriptions: what was reported, then what has happened since."""
    return st.builds(case_description, st.sampled_from(CASE_REPORTS), st.sampled_from(CASE_PROGRESS))


def case_templates() -> st.SearchStrategy[str]:
    """A case template as clients send it: a `ctm-` id or a template's name."""
    return st.one_of(kore_ids("ctm"), st.sampled_from(CASE_TEMPLATES))


def epoch_ms_instants() -> st.SearchStrategy[int]:
    """Instants in epoch milliseconds (whole minutes, 2024 to 2026)."""
    return st.integers(*_INSTANT_RANGE).map(lambda minutes: minutes * 60_000)


def iso_instants() -> st.SearchStrategy[str]:
    """Instants as the platform prints them, `2026-09-04T14:15:00.000Z`."""
    return epoch_ms_instants().map(iso_of_ms)


def iso_of_ms(ms: int) -> str:
    """An epoch-ms instant as ISO 8601 UTC with milliseconds and `Z`."""
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def due_dates() -> st.SearchStrategy[str | int]:
    """Due dates in either form a client sends (decision due-date-forms)."""
    return st.one_of(iso_instants(), epoch_ms_instants())


def search_texts() -> st.SearchStrategy[str]:
    """What a person types into a search box: a word or two of a case or task name, in any case."""
    words = sorted({w for name in (*CASE_NAMES, *TASK_NAMES) for w in name.split() if len(w) > 3})
    return st.builds(
        lambda word, style: {"lower": word.lower(), "upper": word.upper(), "as-is": word}[style],
        st.sampled_from(words),
        st.sampled_from(("lower", "upper", "as-is")),
    )


def display_names(names: Sequence[str]) -> st.SearchStrategy[list[str]]:
    """A list filter: one to three display names, sometimes in another case (matched ignoring case)."""
    return st.lists(
        st.builds(lambda name, lower: name.lower() if lower else name, st.sampled_from(names), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=str.casefold,
    )


def sort_orders(keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """`sortBy` in both forms: a key, or one key and its direction (decision sort-forms)."""
    return st.one_of(
        st.sampled_from(keys),
        st.builds(
            lambda key, direction: {key: direction}, st.sampled_from(keys), st.sampled_from(("asc", "desc"))
        ),
    )
