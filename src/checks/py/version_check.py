"""hookgate's version check: is the built wheel's version already on the index?

Exit 0: free. Exit 1: taken. Exit 3: the index could not be asked (no verdict)."""

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request
import zipfile
from email.parser import HeaderParser
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)


def wheel_metadata(path):
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(z.read(meta).decode("utf-8"))
    return headers["Name"], headers["Version"]


class Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.files = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href") or ""
            self.files.append(unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]))


def file_version(filename):
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True)
    ap.add_argument("--index-url", required=True)
    args = ap.parse_args()
    name, version = wheel_metadata(args.wheel)
    wanted = Version(version)
    project = canonicalize_name(name)
    url = args.index_url.rstrip("/") + f"/{project}/"
    print(f"hookgate: is {name} {version} on {args.index_url}? asking {url}")
    request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "hookgate"})
    try:
        with urllib.request.urlopen(request, timeout=20, context=ssl.create_default_context()) as r:
            kind = r.headers.get("Content-Type", "")
            body = r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            print(f"hookgate: {name} is not on the index at all: {version} is free")
            return 0
        print(f"hookgate: the index answered HTTP {e.code}; no verdict")
        return 3
    except (urllib.error.URLError, OSError) as e:
        print(f"hookgate: the index is unreachable ({e}); no verdict")
        return 3
    if "json" in kind:
        data = json.loads(body)
        files = [f["filename"] for f in data.get("files", [])]
        listed = data.get("versions") or []
        api = "PEP 691 JSON"
    else:
        parser = Anchors()
        parser.feed(body)
        files, listed, api = parser.files, [], "PEP 503 HTML"
    versions = {v for v in (file_version(f) for f in files) if v is not None}
    for v in listed:
        try:
            versions.add(Version(v))
        except InvalidVersion:
            pass
    print(f"hookgate: {api}: {len(files)} files, versions: {', '.join(sorted(map(str, versions))) or 'none'}")
    if wanted in versions:
        print(f"hookgate: {name} {version} is already on {args.index_url}: bump the version before publishing")
        return 1
    print(f"hookgate: {name} {version} is free on {args.index_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
