"""Download BrainWeb volumes (cite Collins et al. 1998 and Kwan et al. 1999).

``python tools/brainweb_download.py DEST [--which phantom|models|all|ALIAS ...]`` (the library
part is :func:`dnsp.data.brainweb.download_brainweb`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dnsp.data.brainweb import BRAINWEB_URL, download_brainweb
from dnsp.errors import InputError


def main(argv: Sequence[str] | None = None) -> int:
    """Download; one error line and exit status 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python tools/brainweb_download.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="output folder")
    parser.add_argument("--which", nargs="+", default=["phantom"],
                        help="phantom (default), models (the 20 normal models' T1), all, "
                             "or BrainWeb aliases")
    parser.add_argument("--url", default=BRAINWEB_URL, help="site root")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        for path in download_brainweb(args.dest, args.which, args.url,
                                      overwrite=args.overwrite):
            print(path)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
