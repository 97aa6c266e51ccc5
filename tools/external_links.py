"""List the links of the built site that point to other hosts, with the pages that hold them.

    python tools/external_links.py site/

Nothing on the site is fetched from another host at view time (tests/test_browser.py); these are
the links a reader may follow. They are checked only where a network is present:
`ATLAS_CHECK_EXTERNAL=true bash scripts/serve.sh build` makes the link checker (htmlproofer, in
mkdocs.yml) fetch every one of them and fail the build on a dead one.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith(("http://", "https://")):
            self.links.append(href)


def external_links(site: Path, own: str) -> dict[str, list[str]]:
    """{link: [page, ...]} for every link to a host other than the site's own address `own`."""
    found: dict[str, list[str]] = defaultdict(list)
    for html in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(html.read_text(errors="replace"))
        page = str(html.relative_to(site))
        for link in parser.links:
            if not link.startswith(own) and page not in found[link]:
                found[link].append(page)
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    import yaml

    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parents[1]
    config = yaml.load((root / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    for link, pages in external_links(Path(argv[0]), config["site_url"]).items():
        print(
            f"{link}  ({len(pages)} pages: {', '.join(pages[:3])}{' …' if len(pages) > 3 else ''})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
