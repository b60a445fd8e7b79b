"""Words of a title, normalised the same way for statistics, filters and novelty hashes."""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Spellings of song-title markers that mean the same thing.
_ALIASES = {"ft": "feat", "featuring": "feat", "rmx": "remix"}

# Closed-class words: frequent in both corpora and no evidence of either. A title needs content
# words from both sides to count as a mashup.
STOPWORDS = frozenset("""
a an the and or but nor so yet of for in on at to by with from into onto over under up down out off
as via per vs than then that this these those there here it its is are was were be been being am
i me my mine you your yours he him his she her hers we us our they them their what which who whom
whose when where why how not no all any each every some do does did done have has had will would
can could shall should may might must if else let s t re ll ve d o n y
""".split())


# Words that join two phrases in a paper title ("... for ...", "... using ..."): paper phrases are
# cut at them (bot/training/halves.py), so no half starts or ends with one.
JOINERS = frozenset("""for with via using in of on from by through towards toward to under over
into across beyond without versus vs against at as based""".split())


def normalise(title: str) -> str:
    """Compatibility forms folded (full-width letters, ligatures), case folded."""
    return unicodedata.normalize("NFKC", title).casefold()


def words(title: str) -> list[str]:
    """Lower-case words without punctuation; apostrophes inside words kept; markers unified."""
    found = _WORD.findall(normalise(title))
    return [_ALIASES.get(w, w).replace("’", "'") for w in found]


def canonical(title: str) -> str:
    """The title as its words joined by one space: equal for titles differing only in case,
    punctuation and spacing."""
    return " ".join(words(title))


def compact(title: str) -> str:
    """The title's words with nothing between them: equal for titles that differ only in where
    spaces and hyphens fall as well ("Foo Bar Lab", "FooBar Lab", "Foo-Bar Lab": "foobarlab").
    Novelty compares this form beside canonical (bot/curation/evidence.py NoveltyIndex)."""
    return "".join(words(title))


# Letters a reader takes for Latin ones that NFKD does not take apart: stroked Latin letters,
# ligatures, and Cyrillic and Greek lookalikes.
_LOOKALIKES = str.maketrans({
    "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "һ": "h", "ӏ": "l", "ο": "o", "α": "a", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "ρ": "p",
})


def fold(text: str) -> str:
    """text as a reader sees it: normalised (see normalise), accents and other marks dropped,
    lookalike letters mapped to Latin ones ("María También" and "Maria Tambien" fold the same)."""
    decomposed = unicodedata.normalize("NFKD", normalise(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", bare.translate(_LOOKALIKES))


STEM = 5  # letters two long words share when they are forms of one word ("recognize", "recognition")
# Endings that make another form of a short word ("map" -> "maps", "run" -> "running").
_ENDINGS = ("s", "es", "d", "ed", "ing", "er", "ers", "est", "ly")


def one_word(a: str, b: str) -> bool:
    """Whether two lower-case words are one word or forms of one: equal; sharing their first STEM
    letters, the shorter having at least STEM ("recognize", "recognition"); or the shorter plus an
    ending, its last consonant doubled ("run", "running"), a final e dropped ("fire", "firing")
    or a final y made ie ("sky", "skies")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= STEM:
        return long[:STEM] == short[:STEM]
    stems = {short, short + short[-1:]}
    if short.endswith("y"):
        stems |= {short[:-1] + "ie", short[:-1] + "i"}
    if short.endswith("e"):
        stems.add(short[:-1])
    return any(long == stem + ending for stem in stems for ending in _ENDINGS)
