"""Region codes for offer filters: continents and the ISO 3166 country codes they contain.

The marketplace only knows countries (an offer's ``geolocation`` is "City, CC"), so a continent
is expanded to its countries before the search is sent, the way the official client does it.
"""

from __future__ import annotations

import pycountry

CONTINENTS: dict[str, frozenset[str]] = {
    "NA": frozenset(
        "AG BS BB BZ CA CR CU DM DO SV GD GT HT HN JM MX NI PA KN LC VC TT US PR".split()
    ),
    "SA": frozenset("AR BO BR CL CO EC FK GF GY PY PE SR UY VE".split()),
    "EU": frozenset(
        "AL AD AT BY BE BA BG HR CY CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT MD MC ME "
        "NL MK NO PL PT RO RU SM RS SK SI ES SE CH UA GB VA XK".split()
    ),
    "AS": frozenset(
        "AF AM AZ BH BD BT BN KH CN GE IN ID IR IQ IL JP JO KZ KW KG LA LB MY MV MN MM NP KP "
        "OM PK PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE HK MO".split()
    ),
    "OC": frozenset(
        "AS AU CK FJ PF GU KI MH FM NR NC NZ NU MP PW PG PN WS SB TK TO TV VU WF".split()
    ),
    "AF": frozenset(
        "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR "
        "LY MG MW ML MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD TZ TG TN UG ZM ZW".split()
    ),
}
CONTINENT_NAMES = {
    "NA": "North America",
    "SA": "South America",
    "EU": "Europe",
    "AS": "Asia",
    "OC": "Oceania",
    "AF": "Africa",
}
# Every country the marketplace can place a machine in: the maintained ISO 3166-1 list, plus
# codes in use that it leaves out (XK, Kosovo).
COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries).union(
    *CONTINENTS.values()
)
# Codes that are both a continent and a country: "AF" is Africa here (Afghanistan is in "AS"),
# "NA" is North America (Namibia is in "AF"), "AS" is Asia (American Samoa is in "OC").
AMBIGUOUS = frozenset(CONTINENTS) & COUNTRIES


def expand(codes: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The country codes a list of continent and country codes stands for."""
    countries: set[str] = set()
    for code in codes:
        countries |= CONTINENTS.get(code, {code})
    return frozenset(countries)


def country_of(geolocation: str | None) -> str | None:
    """The country code of an offer's ``geolocation`` ("Paris, FR" or "FR"), if it has one."""
    if not geolocation:
        return None
    tail = geolocation.rsplit(",", 1)[-1].strip().upper()
    return tail if len(tail) == 2 and tail.isalpha() else None
