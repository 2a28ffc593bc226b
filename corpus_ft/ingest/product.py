"""The product a repository documents, named as questions should name it ("How do I deploy Flask?").

The name comes from package metadata (pyproject.toml, setup.cfg, setup.py, package.json, go.mod,
Cargo.toml, pom.xml, Gradle settings, .csproj) and from the top-level README's title, and is spelled
the way the README spells it. Never from a heading further down a page: a README that opens with
"## Compatibility" does not document a product called Compatibility.
"""

from __future__ import annotations

import json
import re
from configparser import ConfigParser
from configparser import Error as ConfigError
from pathlib import Path

import tomllib

_README = re.compile(r"^readme(?:\.(?:md|markdown|rst|txt))?$", re.I)
_MAX_BYTES = 1_000_000
# A build file's name for the module that only groups others ("acme-parent", "Acme Parent", "acme-workspace",
# "acme-monorepo", "acme-root", "acme-bom"): the product is what is left, never the suffix.
_AGGREGATE = re.compile(r"[\s_.-]*\b(?:parent|root|workspace|monorepo|aggregator|bom)$", re.I)
_AGGREGATE_ONLY = re.compile(r"^(?:parent|root|workspace|monorepo|aggregator|main|project|build|app|docs?)$", re.I)
# The last segment of a module path that names a kind of package, not the product ("github.com/acme/cli",
# "example.org/acme/core"): the product is "owner/segment", as such READMEs spell it ("acme/cli").
_GENERIC_SEGMENT = re.compile(
    r"^(?:cli|cmd|core|api|lib|libs|sdk|go|golang|pkg|server|client|src|app|module|mod|internal|common|utils?)$", re.I
)


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(_read(path))
    except (tomllib.TOMLDecodeError, ValueError):
        return {}


def product_of_module(name: str) -> str:
    """The product a build module's name stands for: "Acme Parent" -> "Acme", "acme-workspace" -> "acme";
    '' for a name that is only a grouping word ("root", "workspace") and says nothing of the product."""
    name = name.strip()
    if _AGGREGATE_ONLY.match(name):
        return ""
    bare = _AGGREGATE.sub("", name).strip(" -_.")
    return bare if bare else name


def _pom_name(pom: str) -> str:
    """A Maven POM's own name (else artifactId), the <parent> block and dependencies left out."""
    body = re.sub(r"<parent>.*?</parent>|<dependencies>.*</dependencies>|<build>.*</build>", "", pom, flags=re.S)
    body = re.sub(
        r"<(?:licenses|developers|organization|scm|profiles)>.*?</(?:licenses|developers|organization|scm|profiles)>",
        "",
        body,
        flags=re.S,
    )
    m = re.search(r"<name>\s*([^<$]+?)\s*</name>", body) or re.search(r"<artifactId>\s*([^<$]+?)\s*</artifactId>", body)
    return m.group(1) if m else ""


def _maven_name(repo: Path, pom: str) -> str:
    """The product of a Maven build: an aggregator POM (packaging `pom` with <modules>) names the group,
    so the module it aggregates that carries the group's name ("acme" under "acme-parent") names the product."""
    own = _pom_name(pom)
    modules = re.findall(r"<module>\s*([^<]+?)\s*</module>", pom)
    if not modules and not re.search(r"<packaging>\s*pom\s*</packaging>", pom):
        return own
    base = re.sub(r"[-_.\s]", "", product_of_module(own).lower())
    for module in modules:
        sub = _pom_name(_read(repo / module / "pom.xml"))
        if sub and re.sub(r"[-_.\s]", "", sub.lower()) == base:
            return sub
    return product_of_module(own)


def metadata_name(repo: Path) -> str:
    """The product's name as build metadata declares it, or '': a grouping module's name ("acme-parent",
    "root") is reduced to the product it groups."""
    return product_of_module(_declared_name(repo))


def _declared_name(repo: Path) -> str:
    """The package name its build metadata declares, or '' (the first of the usual files that has one)."""
    py = _toml(repo / "pyproject.toml")
    name = (py.get("project") or {}).get("name") or ((py.get("tool") or {}).get("poetry") or {}).get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    cfg = ConfigParser(interpolation=None)
    try:
        cfg.read_string(_read(repo / "setup.cfg"))
        if cfg.get("metadata", "name", fallback="").strip():
            return cfg.get("metadata", "name").strip()
    except ConfigError:
        pass
    m = re.search(r"\bsetup\s*\([^)]*?\bname\s*=\s*['\"]([\w.-]+)['\"]", _read(repo / "setup.py"), re.S)
    if m:
        return m.group(1)
    try:
        pkg = json.loads(_read(repo / "package.json") or "{}")
    except ValueError:
        pkg = {}
    if isinstance(pkg, dict) and isinstance(pkg.get("name"), str) and pkg["name"].strip():
        return pkg["name"].strip().rsplit("/", 1)[-1]  # "@scope/name" -> "name"
    m = re.search(r"^module\s+(\S+)", _read(repo / "go.mod"), re.M)
    if m:
        parts = [p for p in m.group(1).strip('"').split("/") if not re.fullmatch(r"v\d+", p)]
        if len(parts) >= 3 and _GENERIC_SEGMENT.match(parts[-1]):
            return "/".join(parts[-2:])  # "github.com/acme/cli/v3" -> "acme/cli", never the bare "cli"
        return parts[-1] if parts else ""
    cargo = _toml(repo / "Cargo.toml")
    if isinstance((cargo.get("package") or {}).get("name"), str):
        return cargo["package"]["name"]
    pom = _read(repo / "pom.xml")
    if pom and _maven_name(repo, pom):
        return _maven_name(repo, pom)
    for gradle in ("settings.gradle", "settings.gradle.kts"):
        m = re.search(r"rootProject\.name\s*=\s*['\"]([^'\"]+)['\"]", _read(repo / gradle))
        if m:
            return m.group(1)
    for proj in sorted(repo.glob("*.csproj"))[:1]:
        m = re.search(r"<(?:PackageId|AssemblyName)>\s*([^<]+?)\s*<", _read(proj))
        return m.group(1) if m else proj.stem
    return ""


def readme_title(repo: Path) -> str:
    """The top-level README's title: its first heading when that is a level-one heading (`# X`,
    `X` over `===`, an reST title) and reads as a name (one to four words, no sentence), else ''."""
    readme = (
        next((p for p in sorted(repo.iterdir()) if p.is_file() and _README.match(p.name)), None)
        if repo.is_dir()
        else None
    )
    if readme is None:
        return ""
    lines = _read(readme).split("\n")
    title = ""
    fence = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence or not line.strip():
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        m = re.match(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            title = m.group(2) if len(m.group(1)) == 1 else ""
            break
        if re.fullmatch(r"\s*(=+|\*+|#+)\s*", nxt) and len(nxt.strip()) >= len(line.strip()) - 2:
            title = line.strip()  # setext `===` or an reST title (`=`, `*`, `#`), overlined or not
            break
        if re.fullmatch(r"\s*-+\s*", nxt) or re.match(r"^\s*<h1\b", line, re.I):
            m = re.search(r"<h1[^>]*>(.*?)</h1>", " ".join(lines[i : i + 5]), re.I | re.S)
            title = re.sub(r"<[^>]+>", "", m.group(1)) if m else ""
            break
    title = re.sub(r"!\[[^\]]*\]\([^)]*\)|<[^>]+>|\[([^\]]*)\]\([^)]*\)|[`*_]", r"\1", title).strip(" :-|")
    words = title.split()
    if not 1 <= len(words) <= 4 or re.search(r"[.!?]$", title):
        return ""
    return title


def _prose(text: str) -> str:
    """A README's prose: no fenced code, HTML tags, URLs, link targets or `code` spans, where a package's
    import path ("acme/v2", `import acme`) is spelled rather than its name."""
    text = re.sub(r"^ {0,3}(```|~~~).*?^ {0,3}\1", " ", text, flags=re.S | re.M)
    text = re.sub(r"<[^>]+>|https?://\S+|\]\([^)]*\)", " ", text)
    return re.sub(r"`[^`\n]*`", " ", text)


def product_name(repo: str | Path) -> str:
    """The product's name: the package name as the README title spells it (`flask` -> "Flask"),
    else the package name, else a README title that is a name; '' when neither says."""
    repo = Path(repo)
    name, title = metadata_name(repo), readme_title(repo)
    if name and title:
        # "Acme: a fast parser" titles the product Acme; a build name that describes it ("Acme Fast Parser") is longer
        named = re.match(r"^([\w.-]+):\s", title)
        if named and name.lower().startswith(named.group(1).lower() + " "):
            return named.group(1)
        base = re.sub(r"[-_.]", "", name.lower())
        for word in re.findall(r"[\w.-]+", title):
            if re.sub(r"[-_.]", "", word.lower()) == base:
                return word
        if re.sub(r"[-_.\s]", "", title.lower()) == base:
            return title
    if name:
        readme = next((p for p in sorted(repo.iterdir()) if p.is_file() and _README.match(p.name)), None)
        text = _read(readme) if readme else ""
        spelled = re.findall(rf"(?<![\w/.-]){re.escape(name)}(?![\w/-])", _prose(text), re.I)
        if spelled:  # the README's commonest spelling of the name outside code: "Acme" for module acme
            return max(set(spelled), key=lambda s: (spelled.count(s), s != s.lower()))
        return name
    return title
