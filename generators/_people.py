"""People across locales: name tables, email and E.164 phone forms, shared by the provider and strategies.

Both the Faker provider and the Hypothesis strategies pick from these tables, each with its own source
of randomness, so a Faker person and a drawn person look alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Transliterations NFKD does not produce on its own (the email local part is ASCII).
_ASCII_REPLACEMENTS = {"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}


def ascii_fold(text: str) -> str:
    """`text` lower-cased and folded to ASCII letters and digits (`Müller` -> `muller`)."""
    lowered = "".join(_ASCII_REPLACEMENTS.get(c, c) for c in text.lower())
    decomposed = unicodedata.normalize("NFKD", lowered)
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode("ascii"))


@dataclass(frozen=True)
class Name:
    """One given or family name, as written and as it appears in an email address."""

    written: str
    latin: str

    @classmethod
    def parse(cls, entry: str) -> Name:
        """`"田中|tanaka"` -> written + latin; a Latin-script name folds itself."""
        written, _, latin = entry.partition("|")
        return cls(written, latin or ascii_fold(written))


@dataclass(frozen=True)
class LocalePeople:
    """The people of one locale: names, name order and mobile number forms."""

    locale: str
    calling_code: str
    # National significant numbers: `#` is any digit. Where a regulator reserves numbers for fiction
    # (Ofcom, ARCEP, PTS, NANP 555-01xx), those ranges are used so that no real person is called.
    mobile_forms: tuple[str, ...]
    given_names: tuple[Name, ...]
    family_names: tuple[Name, ...]
    family_first: bool = False


def _names(entries: str) -> tuple[Name, ...]:
    return tuple(Name.parse(entry) for entry in entries.split(","))


LOCALES: dict[str, LocalePeople] = {
    table.locale: table
    for table in (
        LocalePeople(
            "en_US",
            "1",
            ("21255501##", "31255501##", "41555501##", "51255501##", "61755501##", "20655501##"),
            _names(
                "James,Mary,Robert,Patricia,Michael,Jennifer,David,Linda,Daniel,Emily,Carlos,Aaliyah,Kevin,Ashley"
            ),
            _names(
                "Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Wilson,Anderson,O'Connor"
            ),
        ),
        LocalePeople(
            "en_GB",
            "44",
            ("7700900###",),
            _names("Oliver,Amelia,Harry,Isla,George,Ava,Noah,Mia,Jack,Sophie,Thomas,Grace,Callum,Niamh"),
            _names("Taylor,Davies,Evans,Roberts,Walker,Wright,Hughes,Edwards,Green,Hall,Wood,Clarke,McLeod"),
        ),
        LocalePeople(
            "en_IN",
            "91",
            ("98########", "97########", "88########", "70########"),
            _names(
                "Priya,Aarav,Ananya,Rohan,Kavya,Arjun,Diya,Vikram,Sneha,Rahul,Meera,Siddharth,Pooja,Aditya"
            ),
            _names("Raman,Sharma,Patel,Iyer,Nair,Reddy,Gupta,Singh,Menon,Kulkarni,Banerjee,Desai,Rao"),
        ),
        LocalePeople(
            "de_DE",
            "49",
            ("151########", "160#######", "170#######", "176########"),
            _names("Jürgen,Lena,Lukas,Anna,Maximilian,Sophie,Jonas,Marie,Felix,Hannah,Tobias,Julia,Katrin"),
            _names("Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Schäfer,Groß"),
        ),
        LocalePeople(
            "fr_FR",
            "33",
            ("63998####",),
            _names("Camille,Léa,Hugo,Chloé,Louis,Manon,Gabriel,Inès,Jules,Élodie,Théo,Zoé,Anaïs"),
            _names("Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Lefèvre,Rousseau"),
        ),
        LocalePeople(
            "es_ES",
            "34",
            ("6########", "7########"),
            _names("Lucía,Hugo,Martina,Mateo,Sofía,Pablo,María,Álvaro,Paula,Javier,Carmen,Iñigo"),
            _names("García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez,Gómez,Jiménez,Núñez"),
        ),
        LocalePeople(
            "pt_BR",
            "55",
            ("119########", "219########", "319########"),
            _names("João,Ana,Pedro,Beatriz,Lucas,Júlia,Gabriel,Larissa,Rafael,Camila,Thiago,Letícia"),
            _names(
                "Silva,Santos,Oliveira,Souza,Rodrigues,Ferreira,Alves,Pereira,Lima,Costa,Araújo,Conceição"
            ),
        ),
        LocalePeople(
            "ja_JP",
            "81",
            ("90########", "80########", "70########"),
            _names(
                "愛子|aiko,翔太|shota,陽菜|hina,大輔|daisuke,美咲|misaki,健太|kenta,さくら|sakura,拓也|takuya,"
                "結衣|yui,直樹|naoki"
            ),
            _names(
                "田中|tanaka,佐藤|sato,鈴木|suzuki,高橋|takahashi,伊藤|ito,渡辺|watanabe,山本|yamamoto,"
                "中村|nakamura,小林|kobayashi,加藤|kato"
            ),
            family_first=True,
        ),
        LocalePeople(
            "sv_SE",
            "46",
            ("7017406##",),
            _names("Marcus,Elsa,Erik,Astrid,Oskar,Maja,Lars,Ingrid,Nils,Saga,Johan,Linnéa,Björn"),
            _names("Lindqvist,Andersson,Johansson,Karlsson,Nilsson,Eriksson,Larsson,Persson,Lindström,Åberg"),
        ),
    )
}
DEFAULT_LOCALES: tuple[str, ...] = tuple(LOCALES)

# Reserved documentation domains (RFC 2606) plus the disposable inbox the seed page itself uses.
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mailinator.com")
# Local-part forms; `{n}` is a number from 1 to 99.
EMAIL_FORMS: tuple[str, ...] = ("{g}.{f}", "{g}{f}", "{gi}{f}", "{g}_{f}", "{f}.{g}", "{g}.{f}{n}")
# Ways a person mistypes an address: all lack the `@` that every email check looks for.
BAD_EMAIL_SEPARATORS: tuple[str, ...] = (".", "", " at ", "(at)", "#", "\uff20", " ")


@dataclass(frozen=True)
class Person:
    """A person of a locale; `name`, `email` and `phone` derive from the parts drawn."""

    locale: str
    given: Name
    family: Name

    @property
    def name(self) -> str:
        """The name as the person writes it."""
        if LOCALES[self.locale].family_first:
            return f"{self.family.written} {self.given.written}"
        return f"{self.given.written} {self.family.written}"

    def email_local_part(self, form: str, number: int) -> str:
        """The local part of this person's address in `form` (one of EMAIL_FORMS)."""
        g, f = self.given.latin, self.family.latin
        return form.format(g=g, f=f, gi=g[:1], n=number)

    def email(self, form: str, domain: str, number: int) -> str:
        """This person's address in `form` at `domain`."""
        return f"{self.email_local_part(form, number)}@{domain}"


def check_locales(locales: Iterable[str]) -> tuple[str, ...]:
    """The locales as a tuple without repeats; a ValueError names the supported ones otherwise."""
    if isinstance(locales, str) or not isinstance(locales, Iterable):
        raise ValueError(
            f"locales must be a sequence of locale names such as {DEFAULT_LOCALES[:2]}, got {locales!r}"
        )
    chosen = tuple(dict.fromkeys(str(locale).replace("-", "_") for locale in locales))
    unknown = [locale for locale in chosen if locale not in LOCALES]
    if unknown or not chosen:
        raise ValueError(
            f"unsupported locales {unknown or list(chosen)!r}; supported locales: {', '.join(DEFAULT_LOCALES)}"
        )
    return chosen


def e164(calling_code: str, national: str) -> str:
    """`+` + country calling code + national significant number."""
    return f"+{calling_code}{national}"


E164_REGEX = r"\A\+[1-9][0-9]{6,14}\Z"
