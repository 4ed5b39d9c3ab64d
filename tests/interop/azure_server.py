"""Azure's LRO test server (npm ``@microsoft.azure/autorest.testserver``) on loopback.

The server is Node.js code that listens on every interface by default; we start it with
``node --require loopback_only.cjs``, a preload that forces every ``listen`` onto
127.0.0.1, and ask for port 0 so the system picks a free one (read back from its log).
It is stopped through its admin route, or by its process id if that does not work, and
always: ``AzureTestServer`` is a context manager and the fixture stops it on teardown.
If ``TARRY_AZURE_PIDFILE`` names a file, the process id is kept there while the server
runs, so the nox session can stop it even if pytest itself was killed.

The ``interop`` nox session installs the package into ``.cache/azure-testserver`` (or
the folder named by ``TARRY_AZURE_TESTSERVER_DIR``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["ENABLED", "PACKAGE", "SKIP_REASON", "VERSION", "AzureTestServer", "package_dir"]

ENABLED = os.environ.get("TARRY_INTEROP") == "1"
"""Interop tests run only where the ``interop`` nox session installed the servers."""
SKIP_REASON = "interop tests run in the `interop` nox session (TARRY_INTEROP=1)"

PACKAGE = "@microsoft.azure/autorest.testserver"
VERSION = "3.3.51"
"""The version the outcomes in docs/interop-azure.md were recorded against."""

ROOT = Path(__file__).resolve().parents[2]
PRELOAD = Path(__file__).with_name("loopback_only.cjs")
_STARTED = re.compile(r"Started server on port (\d+)")
_READY_ROUTE = "/lroParameterizedEndpoints/results/1"  # a GET without side effects
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0


def package_dir() -> Path:
    """Where the npm package is installed (``node_modules`` lives under it)."""
    folder = os.environ.get("TARRY_AZURE_TESTSERVER_DIR")
    return Path(folder) if folder else ROOT / ".cache" / "azure-testserver"


class AzureTestServer:
    """One running test server, bound to 127.0.0.1 on a free port.

    ``base_url`` is ``http://127.0.0.1:PORT``. Scenario state lives in a ``scenario``
    cookie, so callers use one HTTP client per scenario and run scenarios one at a time.
    """

    def __init__(self, install_dir: Path | None = None) -> None:
        self.install_dir = install_dir or package_dir()
        self.cli = self.install_dir / "node_modules" / PACKAGE / "dist" / "cli" / "cli.js"
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> AzureTestServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        assert self._workdir is not None, "the server was never started"
        return Path(self._workdir.name) / "server.log"

    def start(self) -> None:
        """Start the server and return once it answers; raise with its log if it cannot."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH; the Azure interop tests need Node.js")
        if not self.cli.is_file():
            raise RuntimeError(
                f"{PACKAGE} is not installed under {self.install_dir} "
                f"(run `npm install --prefix {self.install_dir} {PACKAGE}@{VERSION}`)"
            )
        self._workdir = tempfile.TemporaryDirectory(prefix="tarry-azure-")
        coverage = Path(self._workdir.name) / "coverage"
        command = [node, "--require", str(PRELOAD), str(self.cli), "run", "--port", "0"]
        command += ["--coverageDirectory", str(coverage)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir.name,
            )
        self._write_pidfile(self._process.pid)
        try:
            self.base_url = f"http://127.0.0.1:{self._wait_for_port()}"
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _write_pidfile(pid: int | None) -> None:
        """Tell the nox session which process to stop if this one never gets to."""
        pidfile = os.environ.get("TARRY_AZURE_PIDFILE")
        if not pidfile:
            return
        path = Path(pidfile)
        if pid is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"{pid}\n")

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"

    def _wait_for_port(self) -> int:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            found = _STARTED.search(self.log_path.read_text(errors="replace"))
            if found:
                return int(found.group(1))
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the Azure test server exited with {self._process.returncode}:\n"
                    + self._log_tail()
                )
            time.sleep(0.05)
        raise RuntimeError("the Azure test server did not start in time:\n" + self._log_tail())

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while True:
                try:
                    if client.get(self.base_url + _READY_ROUTE).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the Azure test server never answered:\n" + self._log_tail())
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server: its admin route first, then its process id. Never raises."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            if self.base_url:
                with contextlib.suppress(httpx.HTTPError):
                    httpx.post(self.base_url + "/.admin/stop", trust_env=False, timeout=2.0)
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process is not None:
            self._write_pidfile(None)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
