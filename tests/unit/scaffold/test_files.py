"""The project's files: every template rendered with the project's names, and kept in step
with s3flow's own app (its CDK feature flags, its CDK CLI)."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

from s3flow.infra.settings import PipelineSettings
from s3flow.scaffold import project_names
from s3flow.scaffold.files import TEMPLATES, target_path, templates, write_files

ROOT = Path(__file__).resolve().parents[3]
NAMES = project_names("acme-ingest")


def test_every_file_is_written_with_the_projects_names(tmp_path: Path):
    written = write_files(tmp_path, NAMES)

    assert {path.as_posix() for path in written} >= {
        "app.py", "cdk.json", "Makefile", "README.md", ".gitignore", "pytest.ini",
        "acme_ingest/__init__.py", "acme_ingest/line_stats.py",
        "tests/test_line_stats.py", "tests/test_pipeline.py", "samples/incoming/notes.txt",
    }  # fmt: skip
    texts = {path: (tmp_path / path).read_text() for path in written}
    assert [path for path, text in texts.items() if "{{" in text] == []
    for path in written:
        if path.suffix == ".py":
            ast.parse(texts[path], filename=str(path))
    assert 'STEPS = ["acme_ingest.line_stats:line_stats"]' in texts[Path("app.py")]


def test_the_app_keeps_its_data_and_the_readme_warns_what_destroy_does(tmp_path: Path):
    write_files(tmp_path, NAMES)

    assert 'removal_policy="retain",' in (tmp_path / "app.py").read_text()
    readme = " ".join((tmp_path / "README.md").read_text().split())
    assert "**delete the bucket and all its objects, the table and all its records" in readme


def test_the_projects_cdk_feature_flags_are_s3flows(tmp_path: Path):
    write_files(tmp_path, NAMES)

    project = json.loads((tmp_path / "cdk.json").read_text())
    assert project["context"] == json.loads((ROOT / "cdk.json").read_text())["context"]
    assert project["app"] == ".venv/bin/python app.py"


def test_the_projects_deploy_uses_the_cdk_cli_s3flow_pins():
    cli = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]

    assert f"npx --yes aws-cdk@{cli} deploy" in (TEMPLATES / "Makefile.tmpl").read_text()


def test_make_setup_installs_only_with_hashes():
    makefile = (TEMPLATES / "Makefile.tmpl").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]

    assert installs and all("--require-hashes -r requirements.txt" in line for line in installs)


def test_hidden_files_and_the_package_folder_are_named_from_the_template_names():
    paths = {target_path(template, NAMES).as_posix() for template in templates()}

    assert ".gitignore" in paths and "acme_ingest/line_stats.py" in paths
    assert not any("tmpl" in path or "{{" in path or "dot-" in path for path in paths)


def _settings_keywords(app: str) -> dict[str, ast.expr]:
    (assignment,) = [
        node for node in ast.parse(app).body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["SETTINGS"]
    ]  # fmt: skip
    assert isinstance(assignment.value, ast.Call)
    return {keyword.arg: keyword.value for keyword in assignment.value.keywords if keyword.arg}


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    factory = field.default_factory
    assert factory is not dataclasses.MISSING
    return factory()


def test_the_app_spells_out_every_pipeline_setting_at_its_default_but_retain_and_the_steps(tmp_path: Path):
    """A setting added to PipelineSettings is added to the project's app.py here, with its default."""
    write_files(tmp_path, NAMES)
    keywords = _settings_keywords((tmp_path / "app.py").read_text())
    fields = {field.name: field for field in dataclasses.fields(PipelineSettings)}

    assert sorted(keywords) == sorted(fields)
    given = {name: ast.literal_eval(value) for name, value in keywords.items() if name != "step_packages"}
    expected = {name: _default(field) for name, field in fields.items() if name != "step_packages"}
    assert given == {**expected, "removal_policy": "retain"}
    assert ast.unparse(keywords["step_packages"]) == "(str(HERE / 'acme_ingest'),)"
