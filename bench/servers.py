"""Servers under test, each in its own process: `corridor serve` (as in production) and the floor."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (a server that forks workers, such as granian)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu_seconds(p)
        todo.extend(children.get(p, []))
    return total


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (a multi-worker server's workers), without multiprocessing's helpers."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline:
            out.append(int(stat.parent.name))
    return sorted(out)


def db_backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` on this machine ({pid: s}), found by the process
    title PostgreSQL gives them ("postgres: <cluster>: <user> <database> <client> ..."). The app's CPU from /proc
    does not include the database's work on PostgreSQL, as it does on SQLite (in-process)."""
    out = {}
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmd.read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if len(words) >= 5 and words[0] == "postgres:" and words[3] == database:
            out[int(cmd.parent.name)] = cpu_seconds(int(cmd.parent.name))
    return out


_WORKERS_OPTION: bool | None = None


def has_workers_option(bin_dir: Path = BIN) -> bool:
    """Whether `corridor serve` takes --workers (issue 12 adds it): read from its --help."""
    global _WORKERS_OPTION
    if _WORKERS_OPTION is None:
        done = subprocess.run([str(bin_dir / "corridor"), "serve", "--help"], capture_output=True, text=True,
                              check=False, timeout=60, env={**os.environ})
        _WORKERS_OPTION = "--workers" in done.stdout
    return _WORKERS_OPTION


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict
    port: int
    log_path: Path
    workers: int = 1  # processes serving requests (`--workers N`)
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:  # what the load tool hits
        return f"http://127.0.0.1:{self.port}"

    @property
    def browser_url(self) -> str:  # what a browser opens: passkeys need localhost, never an IP address
        return f"http://localhost:{self.port}"

    def start(self, ready_path: str = "/healthz", timeout: float = 30) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; its log:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid) if self.proc else 0.0

    @property
    def database(self) -> str | None:
        """The PostgreSQL database this server uses (None on SQLite)."""
        url = self.env.get("DATABASE_URL", "")
        return url.rsplit("/", 1)[1].split("?")[0] if url.startswith("postgres") else None

    def db_cpu(self) -> dict[int, float]:
        return db_backend_cpu(self.database) if self.database else {}

    def rss(self) -> float:
        return rss_mb(self.proc.pid) if self.proc else 0.0

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds of each worker process ({pid: s}); a one-process server is its own only worker."""
        if not self.proc:
            return {}
        pids = child_pids(self.proc.pid) if self.workers > 1 else []
        return {p: tree_cpu_seconds(p) for p in pids} or {self.proc.pid: self.cpu()}

    def wait_idle(self, *, below: float = 0.05, window: float = 0.5, settle: int = 2, timeout: float = 30) -> float:
        """Wait until the server's processes use less than `below` of a core for `settle` windows in a row (handlers
        abandoned by a previous run, whose clients have gone, still running otherwise); returns seconds waited."""
        t0 = time.monotonic()
        quiet = 0
        last = self.cpu()
        while quiet < settle and time.monotonic() - t0 < timeout:
            time.sleep(window)
            now = self.cpu()
            quiet = quiet + 1 if (now - last) < below * window else 0
            last = now
        return round(time.monotonic() - t0, 2)

    def log(self, tail: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])
        except OSError:
            return ""


def corridor(name: str, env: dict, log_dir: Path, *, factory: str | None = None, bin_dir: Path = BIN,
             workers: int = 1) -> Server:
    """`corridor serve`, as in production; with `factory`, another app served by the same command. `workers` > 1
    passes `--workers N` (only when `corridor serve` has it: see has_workers_option)."""
    port = free_port()
    env = {**env, "PUBLIC_URL": f"http://localhost:{port}"}
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    command = [str(bin_dir / "corridor"), *args] if factory is None else \
        [str(bin_dir / "python"), "-m", "bench.serve_app", factory, *args]
    return Server(name, command, env, port, log_dir / f"{name}.log", workers=workers)


def floor(env: dict, log_dir: Path, *, bin_dir: Path = BIN) -> Server:
    return corridor("floor", env, log_dir, factory="bench.floor_app:create_app", bin_dir=bin_dir)
