#!/usr/bin/env python3
"""A real, throw-away OpenSearch (with the k-NN plugin) for tests and manual use. Standard library only.

Everything comes from Maven Central through `mvn` (the only network path needed):

* `org.opensearch.distribution.integ-test-zip:opensearch:<version>:zip`, the minimal distribution (no security
  plugin: plain HTTP, no auth; no bundled JDK, so a system Java 11+ is used; Java 17 recommended);
* `org.opensearch.plugin:opensearch-knn:<knn_version>:zip`, the k-NN plugin;
* the `lang-painless` module (the k-NN plugin extends it, so it will not install without it) and the `reindex`
  module (`_delete_by_query` / `_update_by_query`): the minimal distribution ships neither, so they are assembled
  from their jars on Maven Central.

The Maven Central k-NN zip carries no native libraries (libopensearchknn_faiss / _nmslib), so only the `lucene`
engine works. Indexing into a `faiss` or `nmslib` field makes the node exit with an UnsatisfiedLinkError.
`native_engines(install_dir)` tells which engines an install can serve. A full plugin zip that ships
`lib/*.so` can be given through `OPENSEARCH_KNN_PLUGIN_ZIP`; its lib dir is then put on `LD_LIBRARY_PATH`.

OpenSearch refuses to run as root. When we are root, every server runs as an unprivileged system user
(`OPENSEARCH_RUN_USER`, default `opensearch`, created with `useradd --system` if missing). Each `start()` copies
the cached install into a fresh temporary run dir owned by that user (about 60 MB, well under a second), so the
cache can stay root-owned and read-only (e.g. under /root/.cache, which other users cannot reach), and servers
running at the same time share nothing.

    python scripts/opensearch_server.py install          # prints the install dir
    python scripts/opensearch_server.py run [--port N]   # serves until Ctrl-C
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_VERSION = "2.19.1"
DEFAULT_KNN_VERSION = "2.19.1.0"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "vector-store-api" / "opensearch"
DEFAULT_RUN_USER = "opensearch"
MARKER = ".vector-store-api-install.json"
KNN_PLUGIN = "opensearch-knn"

# Modules the minimal distribution lacks: name -> (main artifact, plugin class candidates, security policy,
# extended plugins). The module's jars are its main artifact plus its runtime dependencies, minus lib/'s.
_MODULES: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "lang-painless": (
        "org.opensearch.plugin:lang-painless",
        ("org.opensearch.painless.PainlessPlugin", "org.opensearch.painless.PainlessModulePlugin"),
        'grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n'
        '  permission java.lang.RuntimePermission "getClassLoader";\n};\n',
        "",
    ),
    "reindex": (
        "org.opensearch.plugin:reindex-client",
        ("org.opensearch.index.reindex.ReindexPlugin", "org.opensearch.index.reindex.ReindexModulePlugin"),
        'grant {\n  permission java.net.SocketPermission "*", "connect";\n};\n'
        'grant codeBase "${codebase.opensearch-rest-client}" {\n'
        '  permission java.net.NetPermission "getProxySelector";\n};\n'
        'grant codeBase "${codebase.httpasyncclient}" {\n'
        '  permission java.net.NetPermission "getProxySelector";\n};\n',
        "",
    ),
    # The `english` analyzer (and the other language analyzers) used by the chunk text field.
    "analysis-common": (
        "org.opensearch.plugin:analysis-common",
        ("org.opensearch.analysis.common.CommonAnalysisPlugin", "org.opensearch.analysis.common.CommonAnalysisModulePlugin"),
        "grant {\n};\n",
        "lang-painless",
    ),
}


def default_cache_dir() -> Path:
    return Path(os.environ.get("OPENSEARCH_CACHE_DIR", DEFAULT_CACHE_DIR)).expanduser()


# ---------------------------------------------------------------------------------------------- prerequisites


def java_home() -> Path | None:
    """The Java installation OpenSearch will use: OPENSEARCH_JAVA_HOME, JAVA_HOME, else `java` on PATH."""
    for var in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var) and (Path(os.environ[var]) / "bin" / "java").exists():
            return Path(os.environ[var])
    java = shutil.which("java")
    return Path(java).resolve().parent.parent if java else None


def java_version() -> int | None:
    """Major version of that Java (17 for 17.0.15), or None when there is no working Java."""
    home = java_home()
    if home is None:
        return None
    try:
        out = subprocess.run(
            [str(home / "bin" / "java"), "-version"], capture_output=True, text=True, timeout=60
        ).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" -> 8


def java_available(min_version: int = 11) -> bool:
    """True when a Java able to run OpenSearch 2.x is installed (11+; 17 recommended; 3.x would need 21)."""
    version = java_version()
    return version is not None and version >= min_version


def maven_available() -> bool:
    """True when `mvn` is on PATH and runs."""
    mvn = shutil.which("mvn")
    if not mvn:
        return False
    try:
        return subprocess.run([mvn, "-v"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _java_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_TOOL_OPTIONS", "JAVA_OPTS", "OPENSEARCH_PATH_CONF")}
    home = java_home()
    if home is None:
        raise RuntimeError("OpenSearch needs Java 11+ (17 recommended): no `java` on PATH and no JAVA_HOME")
    env["OPENSEARCH_JAVA_HOME"] = str(home)
    return env


# ---------------------------------------------------------------------------------------------- Maven


def _mvn(*args: str, cwd: Path | None = None) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("Maven (`mvn`) is needed to fetch OpenSearch from Maven Central; it is not on PATH")
    cmd = [mvn, "-q", "-B", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")


def _local_repository() -> Path:
    default = Path.home() / ".m2" / "repository"
    try:  # settings.xml may move it
        out = subprocess.run(
            ["mvn", "-q", "-B", "help:evaluate", "-Dexpression=settings.localRepository", "-DforceStdout"],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout.strip()
        return Path(out) if out and Path(out).is_dir() else default
    except (OSError, subprocess.SubprocessError):
        return default


def maven_artifact(group: str, artifact: str, version: str, ext: str) -> Path:
    """The artifact's file in the local Maven repository, fetched with `mvn dependency:get` unless already there."""
    rel = Path(*group.split("."), artifact, version, f"{artifact}-{version}.{ext}")
    path = Path.home() / ".m2" / "repository" / rel
    if path.is_file():
        return path
    _mvn("dependency:get", f"-Dartifact={group}:{artifact}:{version}:{ext}", "-Dtransitive=false")
    if path.is_file():
        return path
    path = _local_repository() / rel
    if path.is_file():
        return path
    raise RuntimeError(f"mvn dependency:get succeeded but {rel} is not in the local Maven repository")


def _runtime_jars(coordinates: str, version: str, workdir: Path) -> list[Path]:
    """The artifact's jar and its runtime dependencies (`mvn dependency:copy-dependencies` on a throw-away pom)."""
    group, artifact = coordinates.split(":")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>local.vector-store-api</groupId><artifactId>opensearch-module</artifactId>"
        "<version>0</version><packaging>pom</packaging><dependencies><dependency>"
        f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"
        "</dependency></dependencies></project>\n"
    )
    _mvn("dependency:copy-dependencies", "-DoutputDirectory=jars", "-DincludeScope=runtime", cwd=workdir)
    return sorted((workdir / "jars").glob("*.jar"))


def _jar_name(filename: str) -> str:
    """`jackson-core-2.18.2.jar` -> `jackson-core` (the artifact, without its version)."""
    match = re.match(r"^(.+?)-\d.*\.jar$", filename)
    return match.group(1) if match else filename


# ---------------------------------------------------------------------------------------------- install


def _unzip(archive: Path, dest: Path) -> None:
    """Extract keeping the Unix permission bits (zipfile drops them; bin/ scripts must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def _add_module(home: Path, name: str, version: str, workdir: Path) -> None:
    coordinates, classes, policy, extended = _MODULES[name]
    module_dir = home / "modules" / name
    if module_dir.exists():  # the distribution already has it
        return
    in_lib = {_jar_name(p.name) for p in (home / "lib").glob("*.jar")}
    jars = [jar for jar in _runtime_jars(coordinates, version, workdir / name) if _jar_name(jar.name) not in in_lib]
    main_jar = next(jar for jar in jars if jar.name == f"{coordinates.split(':')[1]}-{version}.jar")
    with zipfile.ZipFile(main_jar) as zf:
        present = set(zf.namelist())
    classname = next((c for c in classes if c.replace(".", "/") + ".class" in present), None)
    if classname is None:
        raise RuntimeError(f"none of {classes} is in {main_jar.name}: cannot assemble the {name} module")
    module_dir.mkdir(parents=True)
    for jar in jars:
        shutil.copy2(jar, module_dir / jar.name)
    (module_dir / "plugin-descriptor.properties").write_text(
        f"description={name} module (assembled from Maven Central)\nversion={version}\nname={name}\n"
        f"classname={classname}\njava.version=11\nopensearch.version={version}\nextended.plugins={extended}\n"
        "has.native.controller=false\n"
    )
    (module_dir / "plugin-security.policy").write_text(policy)


def _make_readable(path: Path) -> None:
    """chmod -R a+rX."""
    for root, dirs, files in os.walk(path):
        for name in dirs:
            p = os.path.join(root, name)
            os.chmod(p, os.stat(p).st_mode | 0o555)
        for name in files:
            p = os.path.join(root, name)
            mode = os.stat(p).st_mode
            os.chmod(p, mode | 0o444 | (0o111 if mode & 0o100 else 0))


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _knn_zip_override(knn_zip: Path | None) -> Path | None:
    if knn_zip is None and os.environ.get("OPENSEARCH_KNN_PLUGIN_ZIP"):
        knn_zip = Path(os.environ["OPENSEARCH_KNN_PLUGIN_ZIP"])
    return Path(knn_zip).resolve() if knn_zip else None


def _install_record(version: str, knn_version: str, knn_zip: Path | None) -> dict:
    return {
        "layout": 2,  # bump when the install steps change: older installs are then rebuilt
        "version": version,
        "knn_version": knn_version,
        "knn_zip": str(knn_zip or ""),
        "modules": sorted(_MODULES),
    }


def is_installed(
    version: str = DEFAULT_VERSION, knn_version: str = DEFAULT_KNN_VERSION, cache_dir: Path | None = None
) -> bool:
    """True when `ensure_installed` has nothing left to do (then neither Maven nor the network is needed)."""
    marker = Path(cache_dir or default_cache_dir()).expanduser().resolve() / f"opensearch-{version}" / MARKER
    try:
        return json.loads(marker.read_text()) == _install_record(version, knn_version, _knn_zip_override(None))
    except (OSError, ValueError):
        return False


def ensure_installed(
    version: str = DEFAULT_VERSION,
    knn_version: str = DEFAULT_KNN_VERSION,
    cache_dir: Path | None = None,
    knn_zip: Path | None = None,
) -> Path:
    """Download (once) and install OpenSearch + k-NN under `cache_dir/opensearch-<version>`; return that dir.

    Idempotent and safe to call from concurrent processes (file lock; built in a staging dir, then renamed, with
    a marker file written last). `knn_zip` (or env OPENSEARCH_KNN_PLUGIN_ZIP) replaces the Maven Central plugin
    zip, e.g. by a full one that ships the faiss/nmslib native libraries.
    """
    cache_dir = Path(cache_dir or default_cache_dir()).expanduser().resolve()
    knn_zip = _knn_zip_override(knn_zip)
    install_dir = cache_dir / f"opensearch-{version}"
    record = _install_record(version, knn_version, knn_zip)
    marker = install_dir / MARKER

    def done() -> bool:
        return marker.is_file() and json.loads(marker.read_text()) == record

    if done():  # no lock needed (the cache may be read-only for us)
        return install_dir
    with _locked(cache_dir / ".install.lock"):
        if done():  # another process finished it while we waited
            return install_dir
        os_zip = maven_artifact("org.opensearch.distribution.integ-test-zip", "opensearch", version, "zip")
        plugin_zip = knn_zip or maven_artifact("org.opensearch.plugin", KNN_PLUGIN, knn_version, "zip")
        staging = cache_dir / f".staging-opensearch-{version}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            _unzip(os_zip, staging)
            home = staging / f"opensearch-{version}"
            for name in _MODULES:
                _add_module(home, name, version, staging / "build")
            proc = subprocess.run(
                [str(home / "bin" / "opensearch-plugin"), "install", "--batch", plugin_zip.resolve().as_uri()],
                env=_java_env(),
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"opensearch-plugin install failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
            _make_readable(home)  # config/ ships 0660: every user must be able to copy the cached install
            (home / MARKER).write_text(json.dumps(record, indent=2) + "\n")
            shutil.rmtree(install_dir, ignore_errors=True)
            home.rename(install_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return install_dir


def native_engines(install_dir: Path) -> list[str]:
    """The k-NN native engines whose JNI libraries the install has ("faiss", "nmslib"); lucene always works."""
    lib = Path(install_dir) / "plugins" / KNN_PLUGIN / "lib"
    return [e for e in ("faiss", "nmslib") if any(lib.glob(f"libopensearchknn_{e}*.so"))]


# ---------------------------------------------------------------------------------------------- run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run as when we are root (created if missing); None when we are not root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("OPENSEARCH_RUN_USER", DEFAULT_RUN_USER)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if not useradd:
        raise RuntimeError(
            f"OpenSearch refuses to run as root, and user {name!r} does not exist and `useradd` is not available. "
            f"Create an unprivileged user and set OPENSEARCH_RUN_USER to it, or run as a non-root user."
        )
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    proc = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", shell, name], capture_output=True, text=True
    )
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        raise RuntimeError(
            f"OpenSearch refuses to run as root, and `useradd --system {name}` failed: {proc.stderr.strip()}. "
            f"Create an unprivileged user and set OPENSEARCH_RUN_USER to it, or run as a non-root user."
        )
    return pwd.getpwnam(name)


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    os.chown(path, user.pw_uid, user.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


@dataclass
class Server:
    """A running OpenSearch node. `stop()` (or leaving the `with` block) ends it and removes its run dir."""

    url: str
    port: int
    transport_port: int
    process: subprocess.Popen
    run_dir: Path
    home: Path
    data_dir: Path
    log_path: Path
    engines: list[str] = field(default_factory=lambda: ["lucene"])  # k-NN engines that work on this node
    keep_run_dir: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM the whole process group (runuser + java), wait, SIGKILL whatever is left after `timeout`."""
        if self.process.poll() is None or self._group_alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (self.process.poll() is None or self._group_alive()):
                time.sleep(0.2)
            if self.process.poll() is None or self._group_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=30)
        if not self.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=10) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start(
    install_dir: Path,
    port: int | None = None,
    heap: str = "512m",
    data_dir: Path | None = None,
    timeout: float = 180,
    keep_run_dir: bool = False,
) -> Server:
    """Start a single-node OpenSearch on 127.0.0.1 from a fresh copy of `install_dir`; return once it is yellow.

    The run dir (a temp dir) holds the copy of the install, `data/` (unless `data_dir` is given), `logs/`, `tmp/`
    and the console log. As root, the node runs as OPENSEARCH_RUN_USER (default `opensearch`), which owns it all.
    """
    install_dir = Path(install_dir)
    if not (install_dir / "bin" / "opensearch").is_file():
        raise FileNotFoundError(f"{install_dir} is not an OpenSearch install (see ensure_installed)")
    user = _run_user()
    run_dir = Path(tempfile.mkdtemp(prefix="opensearch-run-"))
    try:
        home = run_dir / "home"
        shutil.copytree(install_dir, home, symlinks=True)
        data = Path(data_dir) if data_dir else run_dir / "data"
        for directory in (data, run_dir / "logs", run_dir / "tmp"):
            directory.mkdir(parents=True, exist_ok=True)
        log_path = run_dir / "console.log"
        log_path.touch()
        if user is not None:
            _chown_tree(run_dir, user)
            if data_dir:
                _chown_tree(data, user)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise

    port = port or free_port()
    transport_port = free_port()
    while transport_port == port:
        transport_port = free_port()
    settings = {
        "cluster.name": "vector-store-api-test",
        "node.name": "node-1",
        "discovery.type": "single-node",  # also skips the production bootstrap checks (vm.max_map_count, ...)
        "network.host": "127.0.0.1",  # loopback only: dev mode, never enforced bootstrap checks
        "http.port": str(port),
        "transport.port": str(transport_port),
        "path.data": str(data),
        "path.logs": str(run_dir / "logs"),
        "bootstrap.memory_lock": "false",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    env = {
        "OPENSEARCH_JAVA_HOME": _java_env()["OPENSEARCH_JAVA_HOME"],
        "OPENSEARCH_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "OPENSEARCH_TMPDIR": str(run_dir / "tmp"),
        "OPENSEARCH_PATH_CONF": str(home / "config"),
    }
    knn_lib = home / "plugins" / KNN_PLUGIN / "lib"
    if knn_lib.is_dir():  # native faiss/nmslib libraries, when the plugin zip ships them
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(knn_lib), os.environ.get("LD_LIBRARY_PATH")]))
    argv = [str(home / "bin" / "opensearch"), *(f"-E{k}={v}" for k, v in settings.items())]
    if user is None:
        cmd, proc_env = argv, {**_java_env(), **env}
    elif shutil.which("runuser"):
        cmd = ["runuser", "-u", user.pw_name, "--", "env", *(f"{k}={v}" for k, v in env.items()), *argv]
        proc_env = _java_env()
    else:
        inner = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        cmd, proc_env = ["su", "-s", "/bin/sh", user.pw_name, "-c", f"exec {inner}"], _java_env()

    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd,
            cwd=home,
            env=proc_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() signals runuser and java together
        )
    server = Server(
        url=f"http://127.0.0.1:{port}",
        port=port,
        transport_port=transport_port,
        process=process,
        run_dir=run_dir,
        home=home,
        data_dir=data,
        log_path=log_path,
        engines=["lucene", *native_engines(home)],
        keep_run_dir=keep_run_dir,
    )
    atexit.register(server.stop)  # a crashed or interrupted caller must not leave a JVM behind
    deadline = time.monotonic() + timeout
    while not _healthy(server.url):
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"OpenSearch exited with code {process.returncode} during start-up:\n{tail}")
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise TimeoutError(f"OpenSearch did not reach yellow within {timeout:.0f}s:\n{tail}")
        time.sleep(0.5)
    return server


# ---------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="OpenSearch + k-NN (from Maven Central) for tests and manual use")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="OpenSearch version (default %(default)s)")
    parser.add_argument("--knn-version", default=DEFAULT_KNN_VERSION, help="k-NN plugin version (%(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $OPENSEARCH_CACHE_DIR or ~/.cache/…")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and install (once); print the install dir")
    run = sub.add_parser("run", help="start a node and serve until Ctrl-C")
    run.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    run.add_argument("--heap", default="512m", help="JVM heap (default %(default)s)")
    run.add_argument("--data-dir", type=Path, default=None, help="keep data here (default: a temp dir)")
    args = parser.parse_args(argv)

    install_dir = ensure_installed(args.version, args.knn_version, args.cache_dir)
    if args.command == "install":
        print(install_dir)
        return 0
    started = time.monotonic()
    server = start(install_dir, port=args.port, heap=args.heap, data_dir=args.data_dir)
    print(
        f"OpenSearch {args.version} with k-NN at {server.url} (up in {time.monotonic() - started:.1f}s; "
        f"k-NN engines: {', '.join(server.engines)}; log: {server.log_path}). Ctrl-C to stop.",
        flush=True,
    )
    stop_requested = False

    def _request_stop(*_):
        nonlocal stop_requested
        stop_requested = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # explicit: a background job ignores SIGINT
        signal.signal(signum, _request_stop)
    try:
        while not stop_requested and server.process.poll() is None:
            time.sleep(0.5)
    finally:
        exited = server.process.poll()
        tail = server.log_tail() if exited is not None else ""
        server.stop()
    if exited is not None and not stop_requested:
        print(f"OpenSearch exited with code {exited}:\n{tail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
