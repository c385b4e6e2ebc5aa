"""ISO 3166-1 alpha-2 -> NetSuite ``Country`` enumeration value (``platform.commonTypes.xsd``, 2023_2).

Generated once from the 252 ``_xxx`` values of the WSDL's ``Country`` enumeration (matched to ISO codes
by their English names, the non-obvious ones checked by hand) and committed as data: the project never
reads the WSDL at run time. Besides the ISO 3166-1 codes it holds the three codes NetSuite has values
for although they are not ISO 3166-1 assignments: ``IC`` (Canary Islands), ``EA`` (Ceuta and Melilla)
and ``XK`` (Kosovo). ``UK`` is accepted as an alias of ``GB`` (Amazon never sends it, people do).
"""

from __future__ import annotations

COUNTRIES: dict[str, str] = {
    "AD": "_andorra", "AE": "_unitedArabEmirates", "AF": "_afghanistan", "AG": "_antiguaAndBarbuda",
    "AI": "_anguilla", "AL": "_albania", "AM": "_armenia", "AO": "_angola", "AQ": "_antarctica", "AR": "_argentina",
    "AS": "_americanSamoa", "AT": "_austria", "AU": "_australia", "AW": "_aruba", "AX": "_alandIslands",
    "AZ": "_azerbaijan", "BA": "_bosniaAndHerzegovina", "BB": "_barbados", "BD": "_bangladesh", "BE": "_belgium",
    "BF": "_burkinaFaso", "BG": "_bulgaria", "BH": "_bahrain", "BI": "_burundi", "BJ": "_benin",
    "BL": "_saintBarthelemy", "BM": "_bermuda", "BN": "_bruneiDarussalam", "BO": "_boliviaPlurinationalStateOf",
    "BQ": "_bonaireSintEustatiusAndSaba", "BR": "_brazil", "BS": "_bahamas", "BT": "_bhutan", "BV": "_bouvetIsland",
    "BW": "_botswana", "BY": "_belarus", "BZ": "_belize", "CA": "_canada", "CC": "_cocosKeelingIslands",
    "CD": "_congoTheDemocraticRepublicOfThe", "CF": "_centralAfricanRepublic", "CG": "_congo", "CH": "_switzerland",
    "CI": "_coteDIvoire", "CK": "_cookIslands", "CL": "_chile", "CM": "_cameroon", "CN": "_china", "CO": "_colombia",
    "CR": "_costaRica", "CU": "_cuba", "CV": "_caboVerde", "CW": "_curacao", "CX": "_christmasIsland",
    "CY": "_cyprus", "CZ": "_czechia", "DE": "_germany", "DJ": "_djibouti", "DK": "_denmark", "DM": "_dominica",
    "DO": "_dominicanRepublic", "DZ": "_algeria", "EA": "_ceutaAndMelilla", "EC": "_ecuador", "EE": "_estonia",
    "EG": "_egypt", "EH": "_westernSahara", "ER": "_eritrea", "ES": "_spain", "ET": "_ethiopia", "FI": "_finland",
    "FJ": "_fiji", "FK": "_falklandIslandsMalvinas", "FM": "_micronesiaFederatedStatesOf", "FO": "_faroeIslands",
    "FR": "_france", "GA": "_gabon", "GB": "_unitedKingdom", "GD": "_grenada", "GE": "_georgia",
    "GF": "_frenchGuiana", "GG": "_guernsey", "GH": "_ghana", "GI": "_gibraltar", "GL": "_greenland",
    "GM": "_gambia", "GN": "_guinea", "GP": "_guadeloupe", "GQ": "_equatorialGuinea", "GR": "_greece",
    "GS": "_southGeorgiaAndTheSouthSandwichIslands", "GT": "_guatemala", "GU": "_guam", "GW": "_guineaBissau",
    "GY": "_guyana", "HK": "_hongKong", "HM": "_heardIslandAndMcdonaldIslands", "HN": "_honduras", "HR": "_croatia",
    "HT": "_haiti", "HU": "_hungary", "IC": "_canaryIslands", "ID": "_indonesia", "IE": "_ireland", "IL": "_israel",
    "IM": "_isleOfMan", "IN": "_india", "IO": "_britishIndianOceanTerritory", "IQ": "_iraq",
    "IR": "_iranIslamicRepublicOf", "IS": "_iceland", "IT": "_italy", "JE": "_jersey", "JM": "_jamaica",
    "JO": "_jordan", "JP": "_japan", "KE": "_kenya", "KG": "_kyrgyzstan", "KH": "_cambodia", "KI": "_kiribati",
    "KM": "_comoros", "KN": "_saintKittsAndNevis", "KP": "_koreaTheDemocraticPeoplesRepublicOf",
    "KR": "_koreaTheRepublicOf", "KW": "_kuwait", "KY": "_caymanIslands", "KZ": "_kazakhstan",
    "LA": "_laoPeoplesDemocraticRepublic", "LB": "_lebanon", "LC": "_saintLucia", "LI": "_liechtenstein",
    "LK": "_sriLanka", "LR": "_liberia", "LS": "_lesotho", "LT": "_lithuania", "LU": "_luxembourg", "LV": "_latvia",
    "LY": "_libya", "MA": "_morocco", "MC": "_monaco", "MD": "_moldovaTheRepublicOf", "ME": "_montenegro",
    "MF": "_saintMartinFrenchPart", "MG": "_madagascar", "MH": "_marshallIslands", "MK": "_northMacedonia",
    "ML": "_mali", "MM": "_myanmar", "MN": "_mongolia", "MO": "_macao", "MP": "_northernMarianaIslands",
    "MQ": "_martinique", "MR": "_mauritania", "MS": "_montserrat", "MT": "_malta", "MU": "_mauritius",
    "MV": "_maldives", "MW": "_malawi", "MX": "_mexico", "MY": "_malaysia", "MZ": "_mozambique", "NA": "_namibia",
    "NC": "_newCaledonia", "NE": "_niger", "NF": "_norfolkIsland", "NG": "_nigeria", "NI": "_nicaragua",
    "NL": "_netherlands", "NO": "_norway", "NP": "_nepal", "NR": "_nauru", "NU": "_niue", "NZ": "_newZealand",
    "OM": "_oman", "PA": "_panama", "PE": "_peru", "PF": "_frenchPolynesia", "PG": "_papuaNewGuinea",
    "PH": "_philippines", "PK": "_pakistan", "PL": "_poland", "PM": "_saintPierreAndMiquelon", "PN": "_pitcairn",
    "PR": "_puertoRico", "PS": "_palestineStateOf", "PT": "_portugal", "PW": "_palau", "PY": "_paraguay",
    "QA": "_qatar", "RE": "_reunion", "RO": "_romania", "RS": "_serbia", "RU": "_russianFederation", "RW": "_rwanda",
    "SA": "_saudiArabia", "SB": "_solomonIslands", "SC": "_seychelles", "SD": "_sudan", "SE": "_sweden",
    "SG": "_singapore", "SH": "_saintHelenaAscensionAndTristanDaCunha", "SI": "_slovenia",
    "SJ": "_svalbardAndJanMayen", "SK": "_slovakia", "SL": "_sierraLeone", "SM": "_sanMarino", "SN": "_senegal",
    "SO": "_somalia", "SR": "_suriname", "SS": "_southSudan", "ST": "_saoTomeAndPrincipe", "SV": "_elSalvador",
    "SX": "_sintMaartenDutchPart", "SY": "_syrianArabRepublic", "SZ": "_eswatini", "TC": "_turksAndCaicosIslands",
    "TD": "_chad", "TF": "_frenchSouthernTerritories", "TG": "_togo", "TH": "_thailand", "TJ": "_tajikistan",
    "TK": "_tokelau", "TL": "_timorLeste", "TM": "_turkmenistan", "TN": "_tunisia", "TO": "_tonga", "TR": "_turkiye",
    "TT": "_trinidadAndTobago", "TV": "_tuvalu", "TW": "_taiwan", "TZ": "_tanzaniaTheUnitedRepublicOf",
    "UA": "_ukraine", "UG": "_uganda", "UM": "_unitedStatesMinorOutlyingIslands", "US": "_unitedStates",
    "UY": "_uruguay", "UZ": "_uzbekistan", "VA": "_holySee", "VC": "_saintVincentAndTheGrenadines",
    "VE": "_venezuelaBolivarianRepublicOf", "VG": "_virginIslandsBritish", "VI": "_virginIslandsUS",
    "VN": "_vietNam", "VU": "_vanuatu", "WF": "_wallisAndFutunaIslands", "WS": "_samoa", "XK": "_kosovo",
    "YE": "_yemen", "YT": "_mayotte", "ZA": "_southAfrica", "ZM": "_zambia", "ZW": "_zimbabwe",
}

#: codes people use that are not ISO 3166-1
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB"}
