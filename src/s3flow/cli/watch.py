"""``local up --watch``: the functions' new code runs as soon as it is saved.

What is watched (``watch_plan``), by polling the files' times and sizes (``FileWatcher``, the
standard library only): the code that goes into the functions' assets, namely the team's step
packages (cdk.json's ``stepPackages``) and, when ``s3flow`` runs from this checkout, its
runtime sources (``__init__.py``, ``contract.py``, ``functions/``); and what makes the stack:
``app.py``, ``cdk.json``, the requirements files, and the checkout's ``infra/``.

What a change does:

- **Code** (only asset sources changed): each function whose asset holds a changed package
  gets a new asset at once, without a synth: a folder holding the packages that differ from
  the synthesized asset, laid over it on the import path (``overlay``), as bundling lays them
  out (``s3flow.infra.bundling``: step packages at the asset's root, the runtime sources under
  ``s3flow/``). Its handler and steps are imported from it in a fresh interpreter
  (``code_update.import_problem``); if that fails, one line says why and the running code stays.
  Otherwise the runtime updates the function's code as Lambda's UpdateFunctionCode does
  (``lambda_.code_update``). A CDK synth takes 5 to 10 s here: too slow to wait for on every save.
- **Stack** (app.py, cdk.json, requirements, infra): ``python app.py`` as ``local up --synth``
  runs it. A failure prints its one line and the running code stays. A template that differs
  from the running one only in the functions' code (their ``Code`` and the assets' metadata)
  is applied as a code update from the new assets; any other difference (a resource added or
  changed, a setting, an environment variable) is named in one line that says to restart
  ``local up``: re-provisioning in place would have to carry the emulator's state across, and a
  partial one would run a stack that matches neither template.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import s3flow
from s3flow import contract
from s3flow.lambda_runtime import ASSET_SOURCES
from s3flow.local.cloudformation.assets import asset_folder
from s3flow.local.lambda_.code_update import import_problem

if TYPE_CHECKING:
    from s3flow.local.lambda_.runtime import LambdaRuntime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
# A change is acted on once a second look this much later sees the same files: an editor that
# writes a file in several steps is not caught half way.
SETTLE_SECONDS = 0.05
STACK_FILES = ("app.py", "cdk.json")
HOT_FOLDER = ".s3flow-watch"


def _files(path: Path, relative: str) -> Iterator[tuple[str, Path]]:
    """(place in the asset, file) for a file or every file of a folder, bytecode left out."""
    if path.is_file():
        yield relative, path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts and child.suffix != ".pyc":
                yield f"{relative}/{child.relative_to(path).as_posix()}", child


def _digest(files: Iterator[tuple[str, Path]]) -> str:
    hasher = hashlib.sha256()
    for relative, path in files:
        hasher.update(f"\0{relative}\0".encode() + path.read_bytes())
    return hasher.hexdigest()


@dataclass(frozen=True)
class AssetRoot:
    """A top-level entry of an asset (``name``: a package folder or a module file) and the
    sources it is made of: (source path, place in the asset)."""

    name: str
    sources: tuple[tuple[Path, str], ...]

    def files(self) -> Iterator[tuple[str, Path]]:
        for source, relative in self.sources:
            yield from _files(source, relative)

    def digest(self) -> str:
        return _digest(self.files())

    def digest_in(self, asset: Path) -> str:
        """The digest of this entry as ``asset`` holds it."""
        return _digest(_files(asset / self.name, self.name))

    def present(self) -> bool:
        return all(source.exists() for source, _ in self.sources)

    def copy_into(self, folder: Path) -> None:
        for relative, path in self.files():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


@dataclass(frozen=True)
class WatchPlan:
    """What ``local up --watch`` watches: files that make the stack, and the assets' sources."""

    stack_paths: tuple[Path, ...]
    code_roots: tuple[AssetRoot, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return (*self.stack_paths, *(source for root in self.code_roots for source, _ in root.sources))

    def is_code(self, path: Path) -> bool:
        return any(
            path == source or path.is_relative_to(source)
            for root in self.code_roots
            for source, _ in root.sources
        )


def _listed(value: Any) -> list[str]:
    """A setting given as a list (cdk.json) or as comma-separated text (``-c``)."""
    if isinstance(value, str):
        return [entry.strip() for entry in value.split(",") if entry.strip()]
    return [str(entry) for entry in value] if isinstance(value, list) else []


def assembly_step_sources(cdk_out: Path, stack: str) -> tuple[list[Path], list[Path]]:
    """The step packages and requirements files the last synth of ``stack`` read, as the stack
    recorded them in the assembly's manifest (``contract.STEP_SOURCES_METADATA``), whether its
    settings came from cdk.json, ``-c`` or the app's own code."""
    try:
        artifact = json.loads((cdk_out / "manifest.json").read_text(encoding="utf-8"))["artifacts"][stack]
        # The CDK writes a stack's metadata to a file of its own (additionalMetadataFile), or inline.
        extra = artifact.get("additionalMetadataFile")
        metadata = (
            json.loads((cdk_out / extra).read_text(encoding="utf-8")) if extra else artifact["metadata"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return [], []
    packages: list[Path] = []
    requirements: list[Path] = []
    for entries in metadata.values():
        for entry in entries:
            if entry.get("type") == contract.STEP_SOURCES_METADATA and isinstance(entry.get("data"), dict):
                packages += [Path(path) for path in entry["data"].get("packages") or ()]
                requirements += (
                    [Path(entry["data"]["requirements"])] if entry["data"].get("requirements") else []
                )
    return packages, requirements


def watch_plan(
    project: Path, package: Path | None = None, cdk_out: Path | None = None, stack: str | None = None
) -> WatchPlan:
    """What to watch for the app in ``project`` (its app.py and cdk.json, the step sources
    the last synth of ``stack`` in ``cdk_out`` read, and those cdk.json names); ``package``:
    the s3flow package folder, watched when it lies inside ``project`` (a checkout of s3flow)."""
    project = project.resolve()
    package = (package or Path(s3flow.__file__).parent).resolve()
    try:
        context = json.loads((project / "cdk.json").read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError):
        context = {}
    synthesized, requirements = assembly_step_sources(cdk_out, stack) if cdk_out and stack else ([], [])
    stack_paths = [project / name for name in STACK_FILES]
    stack_paths += [project / entry for entry in _listed(context.get("stepRequirements"))]
    stack_paths += [path for path in requirements if path not in stack_paths]
    roots = []
    named = [(project / entry).resolve() for entry in _listed(context.get("stepPackages"))]
    for path in dict.fromkeys([*named, *(path.resolve() for path in synthesized)]):
        roots.append(AssetRoot(path.name, ((path, path.name),)))
    # A checkout's source, not an install (a project's own .venv lies inside it too).
    if package.is_relative_to(project) and "site-packages" not in package.parts:
        stack_paths.append(package / "infra")
        sources = tuple((package / name, f"{package.name}/{name}") for name in ASSET_SOURCES)
        roots.append(AssetRoot(package.name, sources))
    return WatchPlan(tuple(stack_paths), tuple(roots))


class FileWatcher:
    """Which of the files under ``paths`` (files or folders) were added, removed or rewritten
    since the last look, by their modification time and size."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._seen = self.scan()

    def scan(self) -> dict[Path, tuple[int, int]]:
        found: dict[Path, tuple[int, int]] = {}
        for path in self.paths:
            candidates = [path] if not path.is_dir() else path.rglob("*")
            for candidate in candidates:
                if "__pycache__" in candidate.parts or candidate.suffix == ".pyc":
                    continue
                try:
                    stat = candidate.stat()
                except OSError:
                    continue  # not there (yet), or gone since the listing
                if not candidate.is_dir():
                    found[candidate] = (stat.st_mtime_ns, stat.st_size)
        return found

    def changes(self) -> set[Path]:
        now = self.scan()
        changed = {path for path in now.keys() | self._seen.keys() if now.get(path) != self._seen.get(path)}
        self._seen = now
        return changed


def overlay(base: Path, roots: Sequence[AssetRoot], folder: Path) -> tuple[Path | None, list[str]]:
    """The sources of ``roots`` laid over the asset ``base``: a folder under ``folder`` holding
    those that differ from ``base``'s copy, named ``asset.<hash>`` by the base and their
    content (so the same sources give the same folder), and the names of those that differ;
    (None, []) when ``base`` holds every one as it is."""
    differing = [root for root in roots if root.digest() != root.digest_in(base)]
    if not differing:
        return None, []
    hasher = hashlib.sha256(base.name.encode())
    for root in differing:
        hasher.update(f"\0{root.name}\0{root.digest()}".encode())
    target = folder / f"asset.{hasher.hexdigest()}"
    if not target.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="building-", dir=folder))
        for root in differing:
            root.copy_into(staging)
        os.replace(staging, target)
    return target, [root.name for root in differing]


def _without_code(template: dict[str, Any]) -> dict[str, Any]:
    """The template less what changes with the functions' code alone: their ``Code``, every
    resource's ``Metadata`` (asset paths) and CDK's own ``CDKMetadata`` resource."""
    stripped = copy.deepcopy(template)
    resources = stripped.get("Resources", {})
    resources.pop("CDKMetadata", None)
    for resource in resources.values():
        resource.pop("Metadata", None)
        if resource.get("Type") == "AWS::Lambda::Function":
            resource.get("Properties", {}).pop("Code", None)
    return stripped


def template_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two templates besides the functions' code: logical ids of
    resources added, removed or changed, and other sections by name; [] for none."""
    before, after = _without_code(old), _without_code(new)
    old_resources, new_resources = before.pop("Resources", {}), after.pop("Resources", {})
    changed = [f"+{key}" for key in sorted(new_resources.keys() - old_resources.keys())]
    changed += [f"-{key}" for key in sorted(old_resources.keys() - new_resources.keys())]
    changed += [
        key
        for key in sorted(old_resources.keys() & new_resources.keys())
        if old_resources[key] != new_resources[key]
    ]
    changed += [
        section
        for section in sorted(before.keys() | after.keys())
        if before.get(section) != after.get(section)
    ]
    return changed


class CodeWatch:
    """Watches the sources of a running pipeline's functions and reloads their code (see the
    module doc). ``runtime`` is the pipeline's ``LambdaRuntime``; ``say`` prints one line;
    ``synthesize`` runs ``python app.py`` and returns its one-line error, or None.

    ``check()`` looks once and acts on what changed (the loop ``start()`` runs calls it every
    ``poll`` seconds; tests call it themselves). ``close()`` stops the loop; ``remove()``
    removes the folders of reloaded code, once no sandbox runs them (after the runtime stops)."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        *,
        cdk_out: Path,
        stack: str,
        project: Path,
        say: Callable[[str], None],
        synthesize: Callable[[], str | None],
        poll: float = POLL_SECONDS,
        package: Path | None = None,
    ) -> None:
        self.runtime = runtime
        self.cdk_out = Path(cdk_out)
        self.stack = stack
        self.project = Path(project).resolve()
        self.say = say
        self.synthesize = synthesize
        self.poll = poll
        self.package = package  # the s3flow package folder (``watch_plan``); None: this one
        self.plan = watch_plan(self.project, self.package, self.cdk_out, self.stack)
        self.template = self._read_template()
        self.folder = self.cdk_out / HOT_FOLDER / str(os.getpid())
        # Each function's asset as last synthesized: what reloaded packages are laid over.
        self.bases = {
            name: spec.code_directory
            for name, spec in runtime.deployment.functions.items()
            if spec.code_directory is not None
        }
        self.watcher = FileWatcher(self.plan.paths)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read_template(self) -> dict[str, Any]:
        path = self.cdk_out / f"{self.stack}.template.json"
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="s3flow-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)  # a synth in progress ends first
            self._thread = None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # another local up may still use it
            self.folder.parent.rmdir()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception as error:  # keep watching: the next save may fix it
                log.exception("watch failed")
                self.say(f"could not reload: {type(error).__name__}: {error}")

    def check(self) -> bool:
        """Looks once; True if something changed (and was acted on)."""
        changed = self.watcher.changes()
        if not changed:
            return False
        while not self._stop.wait(SETTLE_SECONDS) and (more := self.watcher.changes()):
            changed |= more
        code_only = all(self.plan.is_code(path) for path in changed)
        if code_only and all(root.present() for root in self.plan.code_roots):
            self.reload_code(changed)
        else:
            self.reload_stack(changed)
        return True

    def _named(self, paths: set[Path]) -> str:
        shown = sorted(
            str(path.relative_to(self.project) if path.is_relative_to(self.project) else path)
            for path in paths
        )
        return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")

    def reload_code(self, changed: set[Path]) -> None:
        """Each function whose asset holds a changed package: its new code, laid over its asset."""
        for name, base in self.bases.items():
            roots = [root for root in self.plan.code_roots if (Path(base) / root.name).exists()]
            if not roots:
                continue
            folder, _ = overlay(Path(base), roots, self.folder)
            code, beneath = (str(folder), (base,)) if folder is not None else (base, ())
            self._update(name, code, beneath, f"{self._named(changed)} changed")

    def reload_stack(self, changed: set[Path]) -> None:
        """Synthesize; apply the new assets if the template changed in the functions' code alone."""
        self.say(f"{self._named(changed)} changed: synthesizing {self.stack} (python app.py)…")
        error = self.synthesize()
        if error is not None:
            self.say(f"not reloaded, the running code stays: {error}")
            return
        template = self._read_template()
        changes = template_changes(self.template, template)
        if changes:
            shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
            self.say(
                f"the stack changed beyond the functions' code ({shown}): restart `s3flow local up`"
                " to run it; the running stack and code stay"
            )
            return
        resources = template.get("Resources", {})
        for name in list(self.bases):
            spec = self.runtime.resolve(name)
            code = resources.get(spec.logical_id, {}).get("Properties", {}).get("Code", {})
            folder = asset_folder(self.cdk_out, self.stack, f"AWS::Lambda::Function {spec.logical_id}", code)
            if folder is not None:
                self.bases[name] = folder
                self._update(name, folder, (), "synthesized")
        self.template = template
        plan = watch_plan(self.project, self.package, self.cdk_out, self.stack)
        if plan != self.plan:
            self.plan, self.watcher = plan, FileWatcher(plan.paths)

    def _update(self, name: str, code: str, beneath: tuple[str, ...], why: str) -> None:
        spec = self.runtime.resolve(name)
        if spec.code_directory == code and tuple(spec.code_beneath) == beneath:
            return
        running = self.runtime.code_version(name)
        problem = import_problem(spec, code, beneath)
        if problem is not None:
            self.say(f"{name} not reloaded, it keeps running code {running}: {problem}")
            return
        version = self.runtime.update_function_code(name, code, beneath)
        self.say(
            f"{name} runs code {version} from its next invocation ({why}); running ones finish on {running}"
        )
