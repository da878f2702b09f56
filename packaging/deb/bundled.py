"""What the package bundles, read from the virtual environment it ships (run with its python).

    python bundled.py copyright ROOT   DEP-5 paragraphs for every bundled distribution
    python bundled.py glibc            the oldest glibc the bundled wheels accept (e.g. 2.28)

Reads only ``importlib.metadata`` of the interpreter that runs it, so it follows the
distributions that pip installed, whatever their import packages are called.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from importlib.metadata import Distribution, distributions
from pathlib import Path

OURS = "muni-watchdog"
COMMON_LICENSES = Path("/usr/share/common-licenses")

# Trove classifiers to SPDX identifiers, for distributions whose License field is a whole text.
CLASSIFIERS = {
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "MIT License": "MIT",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.1+",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.1",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL-2.1+",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "The Unlicense (Unlicense)": "Unlicense",
}
# License fields written out in words.
SPELLINGS = {
    "Apache License, Version 2.0": "Apache-2.0",
    "Apache License 2.0": "Apache-2.0",
    "Apache 2.0": "Apache-2.0",
    "MIT License": "MIT",
    "BSD License": "BSD-3-Clause",
}
# PEP 600 manylinux_X_Y tags, and the legacy aliases (PEP 513, 571, 599).
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def license_of(dist: Distribution) -> str:
    """The distribution's license as a DEP-5 short name (SPDX, with lower-case and/or)."""
    meta = dist.metadata
    field = (meta.get("License-Expression") or meta.get("License") or "").strip()
    if field.upper() == "BSD":  # names no variant (semantic_version): its text says which
        return license_from_text(dist) or "BSD-3-Clause"
    if field and "\n" not in field and len(field) <= 60 and field.upper() != "UNKNOWN":
        name = SPELLINGS.get(field, field)
        return re.sub(r" (AND|OR) ", lambda m: f" {m[1].lower()} ", name).replace(", ", ",")
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: OSI Approved :: "):
            name = classifier.rsplit(" :: ", 1)[1]
            return CLASSIFIERS.get(name, name.replace(" ", "-"))
    return license_from_text(dist) or "see-dist-info"


def license_from_text(dist: Distribution) -> str | None:
    """Recognise the common permissive licenses by their wording, for metadata that names none."""
    for file in dist.files or []:
        if ".dist-info/" in str(file) and re.search(r"(LICEN[CS]E|COPYING)", file.name, re.I):
            text = " ".join(Path(file.locate()).read_text(errors="replace").split())
            if "Permission is hereby granted, free of charge" in text:
                return "MIT"
            if "Redistribution and use in source and binary forms" in text:
                return "BSD-3-Clause" if "Neither the name" in text else "BSD-2-Clause"
            if "Apache License" in text and "Version 2.0" in text:
                return "Apache-2.0"
    return None


def installed_paths(dist: Distribution, root: str, site: Path) -> list[str]:
    """Glob patterns (relative to the package root) for the distribution's files."""
    tops = set()
    for file in dist.files or []:
        path = (site / file).resolve()
        if site in path.parents:
            tops.add(path.relative_to(site).parts[0])
    base = site.relative_to(Path(root).resolve()) if root else site
    return sorted(f"{base}/{top}" + ("/*" if not top.endswith((".py", ".pth", ".so")) else "")
                  for top in tops)


def copyright_paragraphs(root: str) -> str:
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    out, licenses = [], set()
    for dist in sorted(distributions(), key=lambda d: d.metadata["Name"].lower()):
        name = dist.metadata["Name"]
        if name.lower() == OURS:
            continue
        license = license_of(dist)
        licenses.add(license)
        author = (dist.metadata.get("Author") or dist.metadata.get("Author-email")
                  or dist.metadata.get("Maintainer") or "its authors").strip()
        files = "\n ".join(installed_paths(dist, root, site))
        out.append(f"Files: {files}\nCopyright: {author}\nLicense: {license}\n"
                   f"Comment: {name} {dist.version}; license text in its .dist-info folder\n")
    # One standalone paragraph per license named, "A or B" naming two.
    names = {name for expression in licenses for name in re.split(r" (?:and|or) ", expression)}
    for license in sorted(names):
        common = COMMON_LICENSES / license.removesuffix("+")
        where = (f"On Debian systems the full text is in {common}; the distribution's own copy "
                 f"is in its .dist-info folder." if common.is_file() else
                 "The full text, with its copyright notice, is in the .dist-info folder of "
                 "each distribution under this license.")
        out.append(f"License: {license}\n {where}\n")
    return "\n".join(out)


def oldest_glibc() -> str:
    """A wheel with several platform tags runs where any of them does: its own floor is the
    lowest of its tags; the package needs the highest of those floors."""
    floor = (2, 17)  # manylinux2014, what most binary wheels are built for
    for dist in distributions():
        wheel_floors = []
        for line in (dist.read_text("WHEEL") or "").splitlines():
            if not line.startswith("Tag:"):
                continue
            platform = line.rsplit("-", 1)[1].strip()
            match = re.match(r"manylinux_(\d+)_(\d+)_", platform)
            if match:
                wheel_floors.append((int(match[1]), int(match[2])))
            elif platform.split("_", 1)[0] in LEGACY_MANYLINUX:
                wheel_floors.append(LEGACY_MANYLINUX[platform.split("_", 1)[0]])
        if wheel_floors:
            floor = max(floor, min(wheel_floors))
    return f"{floor[0]}.{floor[1]}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["copyright"] and len(argv) == 2:
        sys.stdout.write(copyright_paragraphs(argv[1]))
    elif argv == ["glibc"]:
        print(oldest_glibc())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
