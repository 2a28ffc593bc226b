"""The product's name from build metadata that carries across ecosystems: a module that only groups
others (a Maven parent, a workspace or monorepo root) is not the product."""

import pytest

from corpus_ft.ingest.product import product_name

PARENT_POM = """<project>
  <parent><groupId>org.example</groupId><artifactId>oss-parent</artifactId><name>OSS Parent</name></parent>
  <artifactId>quill-parent</artifactId>
  <packaging>pom</packaging>
  <name>Quill Parent</name>
  <modules><module>quill</module><module>extras</module></modules>
</project>"""


def _tree(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.mark.parametrize(
    ("files", "name"),
    [
        # an aggregator POM names the group: the module carrying the group's name is the product
        (
            {
                "pom.xml": PARENT_POM,
                "quill/pom.xml": "<project><artifactId>quill</artifactId><name>Quill</name></project>",
                "extras/pom.xml": "<project><artifactId>quill-extras</artifactId><name>Quill Extras</name></project>",
            },
            "Quill",
        ),
        # without a matching module, the parent's name less its suffix
        ({"pom.xml": PARENT_POM, "README.md": "Quill reads things.\n"}, "Quill"),
        ({"pom.xml": "<project><artifactId>quill-parent</artifactId><packaging>pom</packaging></project>"}, "quill"),
        # a JavaScript monorepo root and a Python workspace
        (
            {
                "package.json": '{"name": "root", "private": true, "workspaces": ["packages/*"]}',
                "README.md": "# Tern\n",
            },
            "Tern",
        ),
        ({"package.json": '{"name": "tern-monorepo", "private": true}', "README.md": "Tern is small. Tern.\n"}, "Tern"),
        ({"pyproject.toml": '[project]\nname = "sable-workspace"\n'}, "sable"),
        # the README's prose spelling, not the import path in its code and links
        (
            {
                "go.mod": "module github.com/acme/spindle/v3\n",
                "README.md": "<h1>Spindle</h1>\n\nSpindle is a router. Spindle is fast.\n\n"
                '```go\nimport "github.com/acme/spindle/v3"\nspindle.New()\nspindle.Get()\nspindle.Run()\n```\n'
                "See [docs](https://spindle.dev/spindle) and `spindle.New`.\n",
            },
            "Spindle",
        ),
        # a module path ending in a generic segment ("cli") names the product by its owner too
        (
            {
                "go.mod": "module github.com/acme/cli/v3\n",
                "README.md": "# Welcome to acme/cli\n\nacme/cli is a toolkit. Use acme/cli to build commands.\n",
            },
            "acme/cli",
        ),
        ({"go.mod": "module github.com/acme/spindle\n"}, "spindle"),
        # a title "Name: what it is" names the product; the build name that describes it is longer
        (
            {
                "pom.xml": "<project><artifactId>quill</artifactId><name>quill Java Text Parser</name></project>",
                "README.md": "# quill: Java Text Parser\n\nquill parses text.\n",
            },
            "quill",
        ),
    ],
)
def test_a_grouping_module_is_not_the_product(tmp_path, files, name):
    _tree(tmp_path, files)
    assert product_name(tmp_path) == name
