"""The project's and the steps package's names: derived from the folder, refused in one line."""

from __future__ import annotations

import pytest

from s3flow.scaffold import ScaffoldError, project_names


def test_the_package_is_the_folders_name_with_underscores():
    names = project_names("Acme-Ingest_2")

    assert (names.project, names.package, names.title) == ("Acme-Ingest_2", "acme_ingest_2", "AcmeIngest2")


def test_a_package_given_is_taken_as_is():
    assert project_names("acme-ingest", "acme_steps").package == "acme_steps"


@pytest.mark.parametrize(
    "folder",
    ["1st-project", "-acme", "acme-", "acme ingest", "acmé", "a" * 65],
)
def test_a_folder_name_that_cannot_name_a_project_is_refused(folder):
    with pytest.raises(ScaffoldError, match="project name .* must start with a letter") as refused:
        project_names(folder)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("package", "why"),
    [
        ("Acme", "a lowercase Python identifier"),
        ("acme-steps", "a lowercase Python identifier"),
        ("class", "a lowercase Python identifier"),
        ("json", "standard library"),
        ("s3flow", "taken by s3flow"),
        ("tests", "taken by s3flow or the project's own layout"),
        ("moto", "a dependency the project installs"),
        ("aws_cdk_lib", "a dependency the project installs"),
    ],
)
def test_a_package_name_that_would_not_import_or_would_shadow_something_is_refused(package, why):
    with pytest.raises(ScaffoldError, match=why) as refused:
        project_names("acme", package, taken=["moto", "aws-cdk-lib"])
    assert str(refused.value).endswith("; pass --package NAME")


def test_a_refused_package_from_the_folders_name_says_so():
    with pytest.raises(ScaffoldError, match=r"standard library \(from the folder's name\); pass --package"):
        project_names("json")
