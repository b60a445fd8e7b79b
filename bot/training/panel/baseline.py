"""The no-network baseline of a blind panel: a whole real song title joined to a whole real
arXiv-title phrase at one seam, drawn reproducibly from the corpora (data/)."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import PanelError

# Where the baseline joins a song title (S) and a paper phrase (P).
SEAMS = {
    "feat": "{s} (feat. {p})",
    "front": "{p} {s}",
    "remix": "{s} ({p} Remix)",
    "colon": "{s}: {p}",
    "dash": "{s} - {p}",
}
MAX_SONG_WORDS, MAX_SONG_CHARS = 6, 40
MAX_PHRASE_WORDS = 5
MAX_TOTAL_WORDS = 10
MAX_FRONT_WORDS = 3  # a longer phrase in front of the song reads as one run-on title
# Song titles that already carry a tag or bracket would give a doubled tag at a seam.
_SONG_TAGGED = re.compile(r"[()\[\]{}\"“”]|\b(feat|ft|featuring|prod|remix|edit|mix|vip|bootleg|rework|cover|"
                          r"version|remaster(ed)?|live|acoustic|demo|intro|interlude)\b|\s[x&+]\s|\s-\s|\s–\s",
                          re.IGNORECASE)
_SONG_CHARS = re.compile(r"[\w'’!?.,&-]+( [\w'’!?.,&-]+)*")
_QUOTES = {("'", "'"), ('"', '"'), ("‘", "’"), ("“", "”")}
# A phrase cut from inside a title must not start or end on one of these.
FUNCTION_WORDS = frozenset(
    "a an the of for and or nor in on at to by via with without from into onto over under using as is are "
    "be its their our this that these those vs versus than through towards toward beyond within between "
    "based do does can how what when which why we you".split())

def clean_song(line: str) -> str | None:
    """A song title fit for the baseline, or None: surrounding quotes stripped; titles with an
    artist ("X - Y"), a tag or bracket already, LaTeX, or over MAX_SONG_WORDS words or
    MAX_SONG_CHARS characters are skipped."""
    s = " ".join(line.split())
    if len(s) >= 2 and (s[0], s[-1]) in _QUOTES:
        s = s[1:-1].strip()
    if not s or _SONG_TAGGED.search(s) or not _SONG_CHARS.fullmatch(s) or s[0] in "'‘’":
        return None
    if len(s.split()) > MAX_SONG_WORDS or len(s) > MAX_SONG_CHARS:
        return None
    return s


def _bare(word: str) -> str:
    return word.strip(",.;:!?\"'").lower()


def paper_phrases(title: str) -> list[str]:
    """Whole phrases of one arXiv title (contiguous words, exactly as written): the part after a
    colon, the name before it, the last 2-4 words, and method/model names (words like "ResNet",
    "CNN-CRF", "word2vec"). Phrases with brackets, LaTeX or a function word at either end are left
    out. Empty for a title with nothing usable."""
    if "$" in title:
        return []
    words = title.split()
    found: list[tuple[list[str], bool]] = []  # (words, may open with a function word)
    if ":" in title:
        head, _, tail = title.partition(":")
        if len(head.split()) <= 3:
            found.append((head.split(), False))
        found.append((tail.split(), True))
    last = title.rpartition(":")[2].split()  # the last words, never across the colon
    for k in (2, 3, 4):
        if len(last) > k:
            found.append((last[-k:], False))
    for w in words[1:]:
        core = w.strip(",.;:!?")
        if len(core) >= 3 and "/" not in core and (re.search(r"[A-Z][a-z]+[A-Z]|[A-Z]{2}.*[a-z]|[A-Za-z]\d|\d[A-Za-z]", core)
                                                   or (core.isupper() and core.isalpha())):
            found.append(([core], False))
    phrases = []
    for ph, open_ok in found:
        text = " ".join(ph).strip(",;: ")
        if not 1 <= len(text.split()) <= MAX_PHRASE_WORDS or re.search(r"[()\[\]{}$\":]", text):
            continue
        first, last = _bare(text.split()[0]), _bare(text.split()[-1])
        if last in FUNCTION_WORDS or (first in FUNCTION_WORDS and not (open_ok and len(ph) >= 3)):
            continue
        if text not in phrases:
            phrases.append(text)
    return phrases


def join(song: str, phrase: str, seam: str) -> str:
    """The baseline text: `song` and `phrase` joined at the named seam (a key of SEAMS)."""
    return SEAMS[seam].format(s=song, p=phrase)


@dataclass(frozen=True)
class BaselineItem:
    text: str
    song: str
    title: str
    phrase: str
    seam: str


def load_baseline_sources(songs_path: Path, arxiv_path: Path) -> tuple[list[str], list[str]]:
    """The cleaned unique song titles and the arXiv titles that give at least one phrase."""
    try:
        songs = dict.fromkeys(s for s in map(clean_song, songs_path.read_text(encoding="utf-8").splitlines()) if s)
        titles = [t for t in dict.fromkeys(" ".join(x.split()) for x in arxiv_path.read_text(encoding="utf-8").splitlines())
                  if paper_phrases(t)]
    except OSError as e:
        raise PanelError(f"cannot read the corpora: {e}") from None
    if not songs or not titles:
        raise PanelError("no usable song titles or arXiv titles for the baseline")
    return list(songs), titles


def baseline(n: int, songs: list[str], titles: list[str], seed: int) -> list[BaselineItem]:
    """n distinct baseline items, seeded: a random song, a random phrase of a random title, a random
    seam; pairs over MAX_TOTAL_WORDS words, or a phrase over MAX_FRONT_WORDS words in front, are
    drawn again. Each song, title and phrase is used once in a draw."""
    rng = random.Random(seed)
    out: list[BaselineItem] = []
    used_s, used_t, used_p, texts = set(), set(), set(), set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 100 * n + 1000:
            raise PanelError(f"could only draw {len(out)} of {n} baseline items")
        song, title = rng.choice(songs), rng.choice(titles)
        if song in used_s or title in used_t:
            continue
        phrase = rng.choice(paper_phrases(title))
        if phrase.casefold() in used_p:
            continue
        seam = rng.choice(sorted(SEAMS))
        if seam == "front" and len(phrase.split()) > MAX_FRONT_WORDS:
            continue
        text = join(song, phrase, seam)
        if len(text.split()) > MAX_TOTAL_WORDS or text.casefold() in texts:
            continue
        used_s.add(song), used_t.add(title), used_p.add(phrase.casefold()), texts.add(text.casefold())
        out.append(BaselineItem(text, song, title, phrase, seam))
    return out
