"""Checks on text cells: control characters, and personal numbers where codes belong.

households.csv and the map's tooltips carry each household's id; the id must be the
monitoring system's household code, never a person's resident ID number or mobile phone
number (the outputs promise "no names, phone numbers or ID numbers").
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_RESIDENT_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def control_characters(values: pd.Series) -> np.ndarray:
    """Which cells hold a control character (NUL, tab, line breaks, ...)."""
    found = values.astype(str).str.contains(_CONTROL, regex=True)
    return found.to_numpy(dtype=bool)


def is_resident_id(number: str, *, today: date | None = None) -> bool:
    """An 18-character mainland resident ID number: a real birth date (1900 to today) in
    digits 7-14 and a valid ISO 7064 MOD 11-2 check character."""
    if not _RESIDENT_ID.fullmatch(number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def personal_number(text: str, village_code: str = "") -> str:
    """'a resident ID number' or 'a mobile number' when ``text`` is one or holds one as a
    run of digits bounded by non-digits, else ''. An 18-digit run that begins with the
    household's own 12-digit village code is a household code (village code + serial)."""
    for match in _RESIDENT_ID.finditer(text):
        number = match.group()
        if village_code and len(village_code) == 12 and number.startswith(village_code):
            continue
        if is_resident_id(number):
            return "a resident ID number"
    if _MOBILE.search(text):
        return "a mobile number"
    return ""


_SUSPECT = f"{_RESIDENT_ID.pattern}|{_MOBILE.pattern}"
"""A run of digits shaped like either number (checked closely one by one)."""


def personal_numbers(ids: pd.Series, village_codes: pd.Series) -> np.ndarray:
    """Per id, what personal number it holds ('' for none). Only ids holding a run of
    digits shaped like one are looked at closely."""
    kinds = np.full(len(ids), "", dtype=object)
    texts = ids.astype(str)
    suspects = np.flatnonzero(texts.str.contains(_SUSPECT, regex=True).to_numpy(dtype=bool))
    codes = village_codes.astype(str).to_numpy()
    values = texts.to_numpy()
    for i in suspects:
        kinds[i] = personal_number(values[i], codes[i])
    return kinds
