"""Load from a separate process: wrk (https://github.com/wg/wrk), driven by a generated Lua script.

Every request can differ (path, body, bearer token): the bench writes the list to a Lua data file
and the script walks it from an offset, so that each create-booking request targets its own free
slot. Responses are counted by status in Lua; only the expected status counts as throughput.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = r"""
local data = dofile(%(data)s)
local n = #data
local method = %(method)s
local ok_status = %(ok)d
local wrap = %(wrap)s
local i = %(offset)d
n_ok, n_409, n_other, last_other, exhausted = 0, 0, 0, 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  i = i + 1
  if i > n then
    if not wrap then exhausted = 1 end
    i = 1
  end
  local row = data[i]
  local headers = {}
  if row[3] ~= "" then headers["Authorization"] = "Bearer " .. row[3] end
  if row[4] ~= nil and row[4] ~= "" then headers["Cookie"] = row[4] end
  local body = nil
  if row[2] ~= "" then
    headers["Content-Type"] = "application/json"
    body = row[2]
  end
  return wrk.format(method, row[1], headers, body)
end

function response(status, headers, body)
  if status == ok_status then
    n_ok = n_ok + 1
  elseif status == 409 then
    n_409 = n_409 + 1
  else
    n_other = n_other + 1
    last_other = status
  end
end

function done(summary, latency, requests)
  local ok, c409, other, last, ex = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("n_ok")
    c409 = c409 + t:get("n_409")
    other = other + t:get("n_other")
    if t:get("last_other") ~= 0 then last = t:get("last_other") end
    ex = math.max(ex, t:get("exhausted"))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"ok":%%d,"c409":%%d,"other":%%d,"last_other":%%d,' ..
    '"exhausted":%%d,"socket_errors":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, ok, c409, other, last, ex,
    e.connect + e.read + e.write + e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max)))
end
"""


@dataclass
class LoadResult:
    name: str
    seconds: float
    requests: int
    ok: int
    conflicts: int
    other: int
    last_other: int
    socket_errors: int
    exhausted: bool
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    connections: int

    @property
    def rps(self) -> float:
        """Requests per second that got the expected status (201 for a create, 200 for a read)."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.requests - self.ok


def lua_str(value: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in value
    return f"[{level}[{value}]{level}]"


def write_requests(path: Path, rows: list[tuple[str, ...]]) -> Path:
    """(path, JSON body or "", bearer token or "" [, Cookie header]) per request, as a Lua table."""
    with path.open("w") as f:
        f.write("return {\n")
        for p, body, token, *cookie in rows:
            extra = f",{lua_str(cookie[0])}" if cookie else ""
            f.write(f"{{{lua_str(p)},{lua_str(body)},{lua_str(token)}{extra}}},\n")
        f.write("}\n")
    return path


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    name: str, base_url: str, data_file: Path, *, method: str = "GET", ok_status: int = 200,
    seconds: float = 10, connections: int = 50, threads: int = 1, offset: int = 0, wrap: bool = True,
    workdir: Path, timeout_s: int = 10,
) -> LoadResult:
    script = workdir / f"{name}.lua"
    script.write_text(SCRIPT % {
        "data": lua_str(str(data_file)), "method": lua_str(method), "ok": ok_status,
        "wrap": "true" if wrap else "false", "offset": offset,
    })
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", f"{timeout_s}s",
           "-s", str(script), base_url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    d = json.loads(line.removeprefix("WRKJSON "))
    return LoadResult(
        name=name, seconds=d["duration_us"] / 1e6, requests=d["requests"], ok=d["ok"], conflicts=d["c409"],
        other=d["other"], last_other=d["last_other"], socket_errors=d["socket_errors"],
        exhausted=bool(d["exhausted"]), p50_ms=d["p50_us"] / 1000, p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000, max_ms=d["max_us"] / 1000, connections=connections,
    )
