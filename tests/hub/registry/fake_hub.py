"""An in-memory server speaking the part of the Hugging Face Hub HTTP API that `HuggingFaceRegistry` uses.

It is a test double for the wire protocol, not for the registry: the real `huggingface_hub` client
(HfApi, create_commit, hf_hub_download) talks to it over loopback HTTP. Routes, as huggingface_hub 2.4
calls them:

    POST   /api/repos/create                               create_repo (initial commit with .gitattributes)
    GET    /api/models?author=&search=                     list_models
    GET    /api/models/{repo}  and  .../revision/{rev}     repo_info / model_info (sha, siblings)
    GET    /api/models/{repo}/refs                         list_repo_refs
    POST   /api/validate-yaml                              README.md metadata check made by create_commit
    POST   /api/models/{repo}/preupload/{rev}              upload mode per file: "lfs" for *.safetensors
                                                           (xet is never advertised), "regular" otherwise
    POST   /{repo}.git/info/lfs/objects/batch              LFS batch API, basic transfer
    PUT    /_fake_lfs/{oid}  POST /_fake_lfs/verify        the upload / verify hrefs the batch answer names
    POST   /api/models/{repo}/commit/{branch}              NDJSON commit (file, lfsFile, deletedFile);
                                                           parentCommit mismatch -> 412, as the Hub does
    POST   /api/models/{repo}/tag/{rev}   DELETE .../tag/{tag}          create_tag / delete_tag (409 if exists)
    POST   /api/models/{repo}/branch/{b}  DELETE .../branch/{b}         create_branch / delete_branch
    HEAD   /{repo}/resolve/{rev}/{path}   GET (same)        file metadata (X-Repo-Commit, ETag,
                                                           X-Linked-Etag/-Size for LFS) and content

Errors carry the Hub's X-Error-Code header (RepoNotFound, RevisionNotFound, EntryNotFound) so the client
raises its own typed errors. Writes require `Authorization: Bearer <token>` when a token is configured.
Test helpers: `tamper()` alters a published file (new commit + moved tag, or in place), `calls` lists the
routes hit.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.lfs else git_sha1(self.data)


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, Blob]
    message: str


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")

    def resolve(self, rev: str) -> str | None:
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev in self.commits:
            return rev
        matches = [oid for oid in self.commits if len(rev) >= 7 and oid.startswith(rev)]
        return matches[0] if len(matches) == 1 else None


def _error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    extra = {"X-Error-Message": message, **(headers or {})}
    if code:
        extra["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=extra)


class FakeHub:
    """State plus a FastAPI app; `serve()` runs it on 127.0.0.1 in a background thread."""

    def __init__(self, *, token: str | None = None, lfs_suffixes: tuple[str, ...] = (".safetensors",)) -> None:
        self.token = token
        self.lfs_suffixes = lfs_suffixes
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.calls: list[str] = []
        self._counter = 0
        self.app = self._build_app()

    # ----- test helpers ----------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.repos.clear()
            self.lfs.clear()
            self.calls.clear()

    def file(self, repo_id: str, revision: str, path: str) -> bytes:
        with self.lock:
            repo = self.repos[repo_id]
            return repo.commits[repo.resolve(revision)].files[path].data

    def tamper(self, repo_id: str, tag: str, path: str, data: bytes, *, in_place: bool = False) -> None:
        """Alter a file of the version `tag` names, as an attacker with write access could.

        Default: a new commit on top of the tagged one with the file replaced, and the tag moved to it (git
        content is immutable, so that is how a file "changes" on the Hub). `in_place`: rewrite the stored
        bytes of the tagged commit itself (a compromised storage backend); clients that cached the commit
        keep their verified copy, a fresh client downloads the altered bytes.
        """
        with self.lock:
            repo = self.repos[repo_id]
            commit = repo.commits[repo.resolve(tag)]
            lfs = commit.files[path].lfs if path in commit.files else False
            if in_place:
                commit.files[path] = Blob(data, lfs)
                return
            files = {**commit.files, path: Blob(data, lfs)}
            repo.tags[tag] = self._new_commit(repo, commit.oid, files, f"update {path}")

    def routes_used(self) -> set[str]:
        return set(self.calls)

    # ----- internals -------------------------------------------------------------------------------
    def _new_commit(self, repo: Repo, parent: str | None, files: dict[str, Blob], message: str) -> str:
        self._counter += 1
        seed = f"{repo.repo_id}\n{parent}\n{message}\n{self._counter}\n{time.time_ns()}"
        oid = hashlib.sha1(seed.encode()).hexdigest()
        repo.commits[oid] = Commit(oid, parent, files, message)
        return oid

    def _authorized(self, request: Request) -> bool:
        return self.token is None or request.headers.get("authorization") == f"Bearer {self.token}"

    def _repo(self, ns: str, name: str) -> Repo | None:
        return self.repos.get(f"{ns}/{name}")

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        hub = self

        def hit(route: str) -> None:
            hub.calls.append(route)

        unauthorized = _error(401, "Invalid credentials in Authorization header")

        def no_repo(repo_id: str) -> JSONResponse:
            return _error(404, f"Repository not found: {repo_id}", "RepoNotFound")

        @app.post("/api/repos/create")
        async def create_repo(request: Request):
            hit("POST /api/repos/create")
            if not hub._authorized(request):
                return unauthorized
            body = await request.json()
            if body.get("type") not in (None, "model"):
                return _error(400, "only model repos are served here")
            repo_id = f"{body.get('organization') or 'user'}/{body['name']}"
            url = f"{str(request.base_url).rstrip('/')}/{repo_id}"
            with hub.lock:
                if repo_id in hub.repos:
                    return JSONResponse({"error": "You already created this model repo", "url": url}, 409)
                repo = Repo(repo_id, private=body.get("visibility") == "private")
                gitattributes = Blob(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n", False)
                repo.branches["main"] = hub._new_commit(repo, None, {".gitattributes": gitattributes}, "initial commit")
                hub.repos[repo_id] = repo
            return {"url": url, "name": repo_id, "id": repo_id}

        @app.get("/api/models")
        async def list_models(author: str | None = None, search: str | None = None):
            hit("GET /api/models")
            with hub.lock:
                found = [r for r in hub.repos.values()
                         if (author is None or r.repo_id.split("/")[0] == author)
                         and (search is None or search.lower() in r.repo_id.lower())]
                return [{"id": r.repo_id, "modelId": r.repo_id, "private": r.private, "tags": [],
                         "createdAt": r.created_at, "likes": 0, "downloads": 0} for r in found]

        def info(repo: Repo, rev: str):
            oid = repo.resolve(rev)
            if oid is None:
                return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            files = repo.commits[oid].files
            return {"id": repo.repo_id, "modelId": repo.repo_id, "sha": oid, "private": repo.private,
                    "siblings": [{"rfilename": p} for p in sorted(files)], "tags": [], "likes": 0,
                    "downloads": 0, "createdAt": repo.created_at, "lastModified": repo.created_at}

        @app.get("/api/models/{ns}/{name}")
        async def model_info(ns: str, name: str):
            hit("GET /api/models/{repo}")
            with hub.lock:
                repo = hub._repo(ns, name)
                return info(repo, "main") if repo else no_repo(f"{ns}/{name}")

        @app.get("/api/models/{ns}/{name}/revision/{rev:path}")
        async def model_info_rev(ns: str, name: str, rev: str):
            hit("GET /api/models/{repo}/revision/{rev}")
            with hub.lock:
                repo = hub._repo(ns, name)
                return info(repo, rev) if repo else no_repo(f"{ns}/{name}")

        @app.get("/api/models/{ns}/{name}/refs")
        async def refs(ns: str, name: str, include_prs: str | None = None):
            hit("GET /api/models/{repo}/refs")
            with hub.lock:
                repo = hub._repo(ns, name)
                if repo is None:
                    return no_repo(f"{ns}/{name}")
                out = {
                    "branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": o} for b, o in repo.branches.items()],
                    "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": o} for t, o in repo.tags.items()],
                    "converts": [],
                }
                if include_prs:
                    out["pullRequests"] = []
                return out

        @app.post("/api/validate-yaml")
        async def validate_yaml(request: Request):
            hit("POST /api/validate-yaml")
            content = (await request.json()).get("content", "")
            if content.startswith("---"):
                try:
                    meta = yaml.safe_load(content.split("\n---", 1)[0][3:])
                    if not isinstance(meta, dict):
                        raise ValueError("metadata must be a mapping")
                except (yaml.YAMLError, ValueError) as exc:
                    return JSONResponse({"errors": [{"message": str(exc)}], "warnings": []}, 400)
            return {"errors": [], "warnings": []}

        @app.post("/api/models/{ns}/{name}/preupload/{rev:path}")
        async def preupload(ns: str, name: str, rev: str, request: Request):
            hit("POST /api/models/{repo}/preupload/{rev}")
            if not hub._authorized(request):
                return unauthorized
            body = await request.json()
            with hub.lock:
                repo = hub._repo(ns, name)
                if repo is None:
                    return no_repo(f"{ns}/{name}")
                oid = repo.resolve(rev)
                if oid is None:
                    return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                existing = repo.commits[oid].files
                files = []
                for f in body["files"]:
                    lfs = f["path"].endswith(hub.lfs_suffixes)
                    old = existing.get(f["path"])
                    files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                                  "oid": old.etag if old is not None else None})
                return {"files": files, "commitOid": oid}

        @app.post("/{ns}/{name}.git/info/lfs/objects/batch")
        async def lfs_batch(ns: str, name: str, request: Request):
            hit("POST /{repo}.git/info/lfs/objects/batch")
            if not hub._authorized(request):
                return unauthorized
            body = await request.json()
            base = str(request.base_url).rstrip("/")
            objects = []
            with hub.lock:
                if hub._repo(ns, name) is None:
                    return no_repo(f"{ns}/{name}")
                for obj in body["objects"]:
                    entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                    if obj["oid"] not in hub.lfs:
                        entry["actions"] = {"upload": {"href": f"{base}/_fake_lfs/{obj['oid']}"},
                                            "verify": {"href": f"{base}/_fake_lfs/verify"}}
                    objects.append(entry)
            return JSONResponse({"transfer": "basic", "objects": objects}, media_type="application/vnd.git-lfs+json")

        @app.put("/_fake_lfs/{oid}")
        async def lfs_put(oid: str, request: Request):
            hit("PUT /_fake_lfs/{oid}")
            data = await request.body()
            if hashlib.sha256(data).hexdigest() != oid:
                return _error(400, "content does not match its oid")
            with hub.lock:
                hub.lfs[oid] = data
            return Response(status_code=200)

        @app.post("/_fake_lfs/verify")
        async def lfs_verify(request: Request):
            hit("POST /_fake_lfs/verify")
            body = await request.json()
            with hub.lock:
                ok = body.get("oid") in hub.lfs and len(hub.lfs[body["oid"]]) == body.get("size")
            return {"ok": True} if ok else _error(404, "object not uploaded")

        @app.post("/api/models/{ns}/{name}/commit/{rev:path}")
        async def commit(ns: str, name: str, rev: str, request: Request):
            hit("POST /api/models/{repo}/commit/{rev}")
            if not hub._authorized(request):
                return unauthorized
            if request.query_params.get("create_pr"):
                return _error(400, "pull requests are not served here")
            lines = [json.loads(line) for line in (await request.body()).decode().splitlines() if line.strip()]
            with hub.lock:
                repo = hub._repo(ns, name)
                if repo is None:
                    return no_repo(f"{ns}/{name}")
                if rev not in repo.branches:
                    return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                head = repo.branches[rev]
                files = dict(repo.commits[head].files)
                summary = ""
                for item in lines:
                    key, value = item["key"], item["value"]
                    if key == "header":
                        summary = value.get("summary", "")
                        parent = value.get("parentCommit")
                        if parent and not head.startswith(parent):
                            return _error(412, "A commit has happened since. Please refresh and try again.")
                    elif key == "file":
                        files[value["path"]] = Blob(base64.b64decode(value["content"]), False)
                    elif key == "lfsFile":
                        if value["oid"] not in hub.lfs:
                            return _error(422, f"LFS object {value['oid']} was not uploaded")
                        files[value["path"]] = Blob(hub.lfs[value["oid"]], True)
                    elif key == "deletedFile":
                        if value["path"] not in files:
                            return _error(404, "A file with this name doesn't exist", "EntryNotFound")
                        del files[value["path"]]
                    elif key == "deletedFolder":
                        prefix = value["path"].rstrip("/") + "/"
                        files = {p: b for p, b in files.items() if not p.startswith(prefix)}
                    else:
                        return _error(400, f"unsupported commit operation {key}")
                oid = hub._new_commit(repo, head, files, summary)
                repo.branches[rev] = oid
            base = str(request.base_url).rstrip("/")
            return {"success": True, "commitOid": oid, "commitUrl": f"{base}/{ns}/{name}/commit/{oid}",
                    "commitMessage": summary, "hookOutput": ""}

        def ref_route(kind: str):
            refs_of = (lambda r: r.tags) if kind == "tag" else (lambda r: r.branches)

            async def create(ns: str, name: str, rev: str, request: Request):
                hit(f"POST /api/models/{{repo}}/{kind}/{{rev}}")
                if not hub._authorized(request):
                    return unauthorized
                body = await request.json() if await request.body() else {}
                with hub.lock:
                    repo = hub._repo(ns, name)
                    if repo is None:
                        return no_repo(f"{ns}/{name}")
                    if kind == "tag":
                        ref_name, start = body["tag"], rev
                    else:
                        ref_name, start = rev, body.get("startingPoint") or "main"
                    oid = repo.resolve(start)
                    if oid is None:
                        return _error(404, f"Invalid rev id: {start}", "RevisionNotFound")
                    if ref_name in refs_of(repo):
                        return _error(409, f"{kind} {ref_name} already exists")
                    refs_of(repo)[ref_name] = oid
                return {}

            async def delete(ns: str, name: str, rev: str, request: Request):
                hit(f"DELETE /api/models/{{repo}}/{kind}/{{name}}")
                if not hub._authorized(request):
                    return unauthorized
                with hub.lock:
                    repo = hub._repo(ns, name)
                    if repo is None:
                        return no_repo(f"{ns}/{name}")
                    if kind == "branch" and rev == "main":
                        return _error(403, "cannot delete the main branch")
                    if rev not in refs_of(repo):
                        return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                    del refs_of(repo)[rev]
                return {}

            app.add_api_route(f"/api/models/{{ns}}/{{name}}/{kind}/{{rev:path}}", create, methods=["POST"])
            app.add_api_route(f"/api/models/{{ns}}/{{name}}/{kind}/{{rev:path}}", delete, methods=["DELETE"])

        ref_route("tag")
        ref_route("branch")

        @app.api_route("/{ns}/{name}/resolve/{rev}/{path:path}", methods=["GET", "HEAD"])
        async def resolve(ns: str, name: str, rev: str, path: str, request: Request):
            hit(f"{request.method} /{{repo}}/resolve/{{rev}}/{{path}}")
            with hub.lock:
                repo = hub._repo(ns, name)
                if repo is None:
                    return no_repo(f"{ns}/{name}")
                oid = repo.resolve(rev)
                if oid is None:
                    return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                blob = repo.commits[oid].files.get(path)
                if blob is None:
                    return _error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": oid})
                data = blob.data
                headers = {"X-Repo-Commit": oid, "ETag": f'"{blob.etag}"', "Content-Length": str(len(data)),
                           "Accept-Ranges": "bytes"}
                if blob.lfs:
                    headers.update({"X-Linked-Etag": f'"{blob.etag}"', "X-Linked-Size": str(len(data))})
            body = b"" if request.method == "HEAD" else data
            return Response(content=body, headers=headers, media_type="application/octet-stream")

        return app

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run on a free loopback port; yields the endpoint URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("fake Hub server did not start")
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
