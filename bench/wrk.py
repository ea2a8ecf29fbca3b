"""wrk for `make bench-http`: installed when missing, one Lua script per route, parsed results."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# wrk's summary as one line: requests, duration (us), p50 and p99 (us), errors.
_LUA = """{header}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KEYWARD %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    # CPU time per request of the app server's processes and of its database backends
    # (set by the caller, which knows the servers): steadier than req/s on a busy machine.
    app_cpu_us: float = 0.0
    db_cpu_us: float = 0.0

    @property
    def cpu_us(self) -> float:
        return self.app_cpu_us + self.db_cpu_us


def ensure_wrk() -> str:
    """wrk's path; Debian's wrk is installed with apt-get when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def script(directory: Path, name: str, authorization: str) -> Path:
    """A private Lua script sending `authorization` (it holds a secret: mode 0600 in a 0700 dir)."""
    header = f'wrk.headers["Authorization"] = "{authorization}"' if authorization else ""
    path = directory / f"{name}.lua"
    path.touch(mode=0o600)
    path.write_text(_LUA.format(header=header))
    return path


def run(wrk: str, lua: Path, url: str, connections: int, seconds: int) -> Result:
    """wrk against `url` for `seconds` with `connections` (2 threads at most: 2 workers)."""
    command = [
        wrk,
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{seconds}s",
        *("--timeout", "5s", "-s", str(lua), url),
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("KEYWARD "))
    requests, duration_us, p50_us, p99_us, errors = (int(value) for value in line.split()[1:])
    return Result(requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, errors, requests)
