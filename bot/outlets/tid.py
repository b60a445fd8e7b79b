"""Timestamp identifiers (TIDs), the record keys of Bluesky posts: 64 bits (the top one 0), 53 bits
of microseconds since the Unix epoch, then a 10-bit clock id, written as 13 characters of
base32-sortable. Source: the AT Protocol spec, https://atproto.com/specs/tid (and
@atproto/common-web's TID class, which the reference PDS validates record keys with).

The bot's keys are not random: a post's key is a pure function of its slot, so a re-send after a
crash names the same record and the PDS can refuse a second one.
"""
from __future__ import annotations

import re

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable: sorts as the numbers do
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
MAX_MICROS = 2**53 - 1
MAX_CLOCK_ID = 2**10 - 1


def encode(micros: int, clock_id: int) -> str:
    """The TID for a time (microseconds since the epoch, 0 to 2**53-1) and a clock id (0 to 1023).
    Raises ValueError outside those ranges."""
    if not 0 <= micros <= MAX_MICROS:
        raise ValueError(f"a TID holds 0 to {MAX_MICROS} microseconds, not {micros}")
    if not 0 <= clock_id <= MAX_CLOCK_ID:
        raise ValueError(f"a TID's clock id is 0 to {MAX_CLOCK_ID}, not {clock_id}")
    value = (micros << 10) | clock_id
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(12, -1, -1))


def from_time(seconds: float, clock_id: int) -> str:
    """The TID for epoch seconds (kept to the microsecond) and a clock id."""
    return encode(round(seconds * 1_000_000), clock_id)


def decode(tid: str) -> tuple[int, int]:
    """(microseconds since the epoch, clock id) of a TID. Raises ValueError if it is not one."""
    if not PATTERN.match(tid):
        raise ValueError(f"{tid!r} is not a TID (13 base32-sortable characters, the first 2-j)")
    value = 0
    for c in tid:
        value = (value << 5) | _VALUE[c]
    return value >> 10, value & MAX_CLOCK_ID


def is_tid(text: str) -> bool:
    return bool(PATTERN.match(text))
