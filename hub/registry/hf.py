"""The production registry: one Hugging Face model repo per task, `<namespace>/medhive-<task>`.

How registry concepts map onto a Hub repo:

- a version is a commit on `main` holding the version's files flat at the repo root (model.safetensors,
  config.json, README.md card, lineage.json, signature.json), plus a git tag `v1.1` on that commit.
  Tags never move; `main`'s root shows the most recently published version.
- aliases and history live in two files on `main`, `aliases.json` and `history.jsonl` (outside every
  version's signature). They change only through commits made with `parent_commit` set to the head they
  were read from, so two writers cannot overwrite each other: the Hub refuses the second commit (412)
  and it is retried on the new head (compare-and-swap). `aliases.json` is the truth; each alias is also
  mirrored as a branch (`production`, `candidate`) recreated at the version's commit, so Hub-native
  tools can say `revision="production"` - a convenience that is never read back.
- publishing: commit the files (CAS on main), then `create_tag`; if another publisher took that number
  first (409) the version is re-signed with the next number and committed again. A process killed before
  the tag leaves only an untagged commit, which is never listed.
- fetching: `hf_hub_download(revision=<tag>)` of signature.json, then of each signed file, into
  `<cache_dir>`; the files are copied into a fresh folder, verified, and only then renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

from hub.errors import RegistryError, SignatureError, VersionNotFoundError
from hub.registry.base import VERSION_RE, Change, Event, Registry, check_task_name, next_version
from hub.registry.signing import (
    SIGNATURE_FILE,
    SigningKey,
    TrustedKeys,
    parse_manifest,
    sha256_bytes,
    sha256_file,
    verify_folder,
    verify_manifest,
)

ALIASES_FILE = "aliases.json"
HISTORY_FILE = "history.jsonl"
REPO_PREFIX = "medhive-"
_ATTEMPTS = 8


def _status(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


class HuggingFaceRegistry(Registry):
    """A registry on the Hugging Face Hub (or any server speaking its API, e.g. a test server)."""

    def __init__(self, namespace: str, *, cache_dir: Path | str, signer: SigningKey | None = None,
                 trusted_keys: TrustedKeys | None = None, endpoint: str | None = None, token: str | None = None,
                 private: bool | None = None) -> None:
        super().__init__(signer=signer, trusted_keys=trusted_keys)
        namespace = namespace.strip("/")
        if not namespace or "/" in namespace:
            raise RegistryError(f"invalid Hugging Face namespace {namespace!r}: give a user or organisation name")
        self.namespace = namespace
        # endpoint/token None: huggingface_hub's own resolution (HF_ENDPOINT, HF_TOKEN, saved login)
        self.api = HfApi(endpoint=endpoint, token=token)
        self.cache_dir = Path(cache_dir)
        self.private = private
        self.location = f"hf://{namespace}"
        self._tag_commits: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"HuggingFaceRegistry({self.namespace!r}, endpoint={self.api.endpoint!r})"

    def repo_id(self, task: str) -> str:
        return f"{self.namespace}/{REPO_PREFIX}{check_task_name(task)}"

    @contextlib.contextmanager
    def _hub(self, what: str) -> Iterator[None]:
        """Turn huggingface_hub / HTTP failures into one-line registry errors."""
        try:
            yield
        except RegistryError:
            raise
        except OfflineModeIsEnabled:
            raise RegistryError(f"cannot {what}: Hugging Face Hub access is off (HF_HUB_OFFLINE is set)") from None
        except RepositoryNotFoundError:
            raise VersionNotFoundError(f"cannot {what}: repository not found on {self.api.endpoint}") from None
        except LocalEntryNotFoundError:
            raise RegistryError(f"cannot {what}: {self.api.endpoint} is unreachable and nothing is cached") from None
        except HfHubHTTPError as exc:
            raise RegistryError(f"cannot {what}: the Hub answered HTTP {_status(exc)}") from None
        except OSError as exc:  # socket-level failures that surface as OSError
            raise RegistryError(f"cannot {what}: {type(exc).__name__} talking to {self.api.endpoint}") from None
        except Exception as exc:
            if type(exc).__module__.startswith(("httpx", "httpcore")):
                raise RegistryError(f"cannot {what}: cannot reach {self.api.endpoint} ({type(exc).__name__})") from None
            raise

    def _download(self, task: str, filename: str, revision: str) -> Path | None:
        """One file of the repo at `revision` through the Hub cache; None when the file is absent."""
        try:
            return Path(self.api.hf_hub_download(self.repo_id(task), filename, revision=revision,
                                                 cache_dir=self.cache_dir))
        except RemoteEntryNotFoundError:
            return None

    def _try_commit(self, task: str, ops: list[CommitOperationAdd], message: str, parent: str | None):
        """Commit on main only if main is still at `parent`; None when another writer got there first."""
        try:
            return self.api.create_commit(self.repo_id(task), ops, commit_message=message, revision="main",
                                          parent_commit=parent)
        except HfHubHTTPError as exc:
            if _status(exc) in (409, 412):  # the Hub answers 412 when main is no longer at parent_commit
                return None
            raise

    # ----- primitives ----------------------------------------------------------------------------
    def tasks(self) -> list[str]:
        with self._hub(f"list the repositories of {self.location}"):
            models = list(self.api.list_models(author=self.namespace, search=REPO_PREFIX))
        out = []
        for model in models:
            owner, _, name = model.id.partition("/")
            task = name[len(REPO_PREFIX):]
            if owner == self.namespace and name.startswith(REPO_PREFIX) and task and self._names(task):
                out.append(task)
        return sorted(out)

    def _tags(self, task: str) -> dict[str, str]:
        try:
            with self._hub(f"list the versions of {task}"):
                refs = self.api.list_repo_refs(self.repo_id(task))
        except VersionNotFoundError:
            return {}
        tags = {t.name: t.target_commit for t in refs.tags if VERSION_RE.match(t.name)}
        for name, commit in tags.items():
            self._tag_commits[(task, name)] = commit
        return tags

    def _names(self, task: str) -> list[str]:
        return list(self._tags(task))

    def _read(self, task: str, version: str, filename: str) -> bytes | None:
        # read by commit hash: immutable, so the Hub cache answers repeated listings without a request
        commit = self._tag_commits.get((task, version)) or self._tags(task).get(version)
        if commit is None:
            return None
        with self._hub(f"read {filename} of {version} of {task}"):
            path = self._download(task, filename, commit)
        return path.read_bytes() if path is not None else None

    def _head(self, task: str) -> str | None:
        try:
            with self._hub(f"read the state of {task}"):
                return self.api.repo_info(self.repo_id(task), revision="main").sha
        except VersionNotFoundError:
            return None

    def _state_at(self, task: str, head: str | None) -> tuple[dict[str, str], list[Event], str]:
        if head is None:
            return {}, [], ""
        with self._hub(f"read the state of {task}"):
            alias_path = self._download(task, ALIASES_FILE, head)
            history_path = self._download(task, HISTORY_FILE, head)
        aliases: dict[str, str] = {}
        if alias_path is not None:
            try:
                aliases = {str(k): str(v) for k, v in json.loads(alias_path.read_text()).items() if v}
            except (ValueError, AttributeError):
                raise RegistryError(f"{ALIASES_FILE} of {self.repo_id(task)} is not valid JSON") from None
        text = history_path.read_text(encoding="utf-8") if history_path is not None else ""
        events = []
        for line in text.splitlines():
            try:
                events.append(Event.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                continue
        return aliases, events, text

    def _state(self, task: str) -> tuple[dict[str, str], list[Event]]:
        aliases, events, _ = self._state_at(task, self._head(task))
        return aliases, events

    def _ensure_repo(self, task: str) -> None:
        with self._hub(f"create the repository {self.repo_id(task)}"):
            self.api.create_repo(self.repo_id(task), private=self.private, exist_ok=True)

    def _transact(self, task: str, change: Change) -> list[Event]:
        self._ensure_repo(task)
        for _ in range(_ATTEMPTS):
            head = self._head(task)
            aliases, events, text = self._state_at(task, head)
            before = dict(aliases)
            new = change(aliases, events)
            history = text + "".join(json.dumps(e.to_dict(), sort_keys=True) + "\n" for e in new)
            ops = [
                CommitOperationAdd(ALIASES_FILE, (json.dumps(dict(sorted(aliases.items())), indent=2) + "\n").encode()),
                CommitOperationAdd(HISTORY_FILE, history.encode("utf-8")),
            ]
            summary = "; ".join(f"{e.action} {e.version}" + (f" as {e.alias}" if e.alias else "") for e in new)
            with self._hub(f"record {summary} for {task}"):
                committed = self._try_commit(task, ops, f"medhive: {summary}", head)
            if committed is None:
                continue  # main moved since we read it: read again and re-apply the change
            self._mirror_aliases(task, before, aliases)
            return new
        raise RegistryError(f"cannot record the change for {task}: {self.repo_id(task)} kept changing (retried)")

    def _try_tag(self, task: str, version: str, commit: str) -> bool:
        try:
            self.api.create_tag(self.repo_id(task), tag=version, revision=commit, tag_message=f"medhive {task} {version}")
        except HfHubHTTPError as exc:
            if _status(exc) == 409:  # tag exists
                return False
            raise
        return True

    def _mirror_aliases(self, task: str, before: dict[str, str], after: dict[str, str]) -> None:
        """Best effort: branches named after the aliases, at the aliased version's commit."""
        repo = self.repo_id(task)
        for alias in sorted(set(before) | set(after)):
            if before.get(alias) == after.get(alias):
                continue
            target = after.get(alias)
            commit = (self._tag_commits.get((task, target)) or self._tags(task).get(target)) if target else None
            with contextlib.suppress(HfHubHTTPError, OSError):
                with contextlib.suppress(HfHubHTTPError):  # no branch yet
                    self.api.delete_branch(repo, branch=alias)
                if commit:
                    self.api.create_branch(repo, branch=alias, revision=commit, exist_ok=True)

    def _publish_files(self, task: str, version: str | None, stage: Callable[[Path, str], None]) -> str:
        self._ensure_repo(task)
        repo = self.repo_id(task)
        for _ in range(_ATTEMPTS):
            names = self._names(task)
            chosen = version or next_version(names)
            if chosen in names:
                raise RegistryError(f"{chosen} of {task} already exists; versions are immutable")
            head = self._head(task)
            with tempfile.TemporaryDirectory(prefix="medhive-stage-") as tmp:
                folder = Path(tmp)
                stage(folder, chosen)
                ops = [CommitOperationAdd(p.name, str(p)) for p in sorted(folder.iterdir())]
                # CAS on main as well: the client leaves out files equal to main's, which is only right
                # if main is still the head those were compared against
                with self._hub(f"upload {chosen} of {task}"):
                    commit = self._try_commit(task, ops, f"medhive: publish {task} {chosen}", head)
            if commit is None:
                continue
            with self._hub(f"tag {chosen} of {task}"):
                tagged = self._try_tag(task, chosen, commit.oid)
            if not tagged:
                if version is None:
                    continue  # a concurrent publisher took this number: re-sign with the next one
                raise RegistryError(f"{chosen} of {task} already exists; versions are immutable")
            self._tag_commits[(task, chosen)] = commit.oid
            return chosen
        raise RegistryError(f"cannot publish {task}: {repo} kept changing while publishing (retried)")

    def fetch(self, task: str, ref: str = "production") -> Path:
        version = self.resolve(task, ref)
        label = f"{version} of {task}"
        with self._hub(f"download {label}"):
            sig_path = self._download(task, SIGNATURE_FILE, version)
        sig = sig_path.read_bytes() if sig_path is not None else None
        # refuse an unsigned or untrusted version before downloading its weights
        manifest = verify_manifest(parse_manifest(sig, task=task, version=version), self.trusted,
                                   task=task, version=version)
        assert sig is not None
        # every fetch asks the Hub (one HEAD per file; unchanged files come from the cache), so a file
        # altered on the server is refused even where a verified copy from earlier is still on disk
        downloaded: dict[str, Path] = {}
        for name in sorted(manifest["files"], key=lambda n: (n.endswith(".safetensors"), n)):
            with self._hub(f"download {name} of {label}"):
                path = self._download(task, name, version)
            if path is None:
                raise SignatureError(f"{label}: signed file {name} is missing")
            if sha256_file(path) != manifest["files"][name]:
                raise SignatureError(f"{label}: {name} does not match its signed digest (tampered?)")
            downloaded[name] = path
        # a verified folder holding exactly the signed files (the Hub cache's snapshot may hold others)
        final = self.cache_dir / "verified" / self.namespace / task / f"{version}-{sha256_bytes(sig)[:16]}"
        if final.is_dir():
            with contextlib.suppress(SignatureError):
                verify_folder(final, self.trusted, task=task, version=version)
                return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            (tmp / SIGNATURE_FILE).write_bytes(sig)
            for name, path in downloaded.items():
                shutil.copyfile(path, tmp / name)
            verify_folder(tmp, self.trusted, task=task, version=version)
            try:
                tmp.rename(final)
            except OSError:  # the folder exists: another fetch made it meanwhile, or it is damaged
                try:
                    verify_folder(final, self.trusted, task=task, version=version)
                    shutil.rmtree(tmp, ignore_errors=True)  # keep the good one: someone may be loading it
                except SignatureError:
                    trash = final.parent / f".old-{uuid.uuid4().hex}"
                    final.rename(trash)
                    tmp.rename(final)
                    shutil.rmtree(trash, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final


__all__ = ["HuggingFaceRegistry"]
