"""`sbor web` serves the workspace's cabinet, and the demo's three sign-ins open it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from flows.cabinet import demo_cabinet
from flows.settings import SettingsError, load_settings
from flows.webserver import balanced
from flows.workspace import open_warehouse
from tests.cabinet_site import ORGS, csrf_of
from web.app import create_app
from web.config import WebSettings, load_web_settings


def _sign_in(client: httpx.Client, login: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"login": login, "password": password, "csrf": csrf_of(page.text),
                                       "next": "/"})


def _workspace(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(tmp_path, None, env={})
    wh = open_warehouse(settings)
    wh.upsert_organisations(list(ORGS))
    wh.engine.dispose()
    return settings


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, object]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "flows.cli", "--home", str(tmp_path), "web", "--port", str(port),
                               *extra], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/health", timeout=5)
            return server, base, log
        except httpx.TransportError:
            assert time.monotonic() < deadline and server.poll() is None, "sbor web did not start"
            time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes], log: object) -> None:
    server.terminate()
    server.wait(30)
    log.close()  # type: ignore[attr-defined]


def test_behind_a_balancer_sign_in_attempts_count_per_client(tmp_path: Path) -> None:
    settings = _workspace(tmp_path)
    [school, *_] = demo_cabinet(settings)
    server, base, log = _start(tmp_path, "--forwarded-allow-ips", "127.0.0.1")
    try:
        with httpx.Client(base_url=base, timeout=10, headers={"X-Forwarded-For": "203.0.113.9"}) as attacker:
            for _ in range(5):
                assert _sign_in(attacker, school.login, "guess").status_code == 401
            assert _sign_in(attacker, school.login, school.password).status_code == 429
        with httpx.Client(base_url=base, timeout=10, headers={"X-Forwarded-For": "192.0.2.44"}) as own:
            assert _sign_in(own, school.login, school.password).status_code == 303
    finally:
        _stop(server, log)


def test_sbor_web_serves_the_cabinet_and_the_demo_sign_ins_open_it(tmp_path: Path) -> None:
    settings = _workspace(tmp_path)
    sign_ins = demo_cabinet(settings)
    assert [s.login for s in sign_ins] == ["edu500001", "reg50", "operator"]
    server, base, log = _start(tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/health").text == "ok"
            for s in sign_ins:
                client.cookies.clear()
                response = _sign_in(client, s.login, s.password)
                assert response.status_code == 303 and response.headers["location"] == "/", s.login
                home = client.get("/")
                assert '<span class="login"' in home.text and s.login in home.text
            client.cookies.clear()
            _sign_in(client, "edu500001", sign_ins[0].password)
            client.post("/publications/vpr-tech-2027/expanded", data={"csrf": csrf_of(client.get("/").text)})
            page = client.get("/publications/vpr-tech-2027").text
            assert "Технические требования к компьютерам.txt" in page and "Логины участников" in page
            link = re.search(r'href="(/files/\d+)" download>Логины участников', page)
            assert link and "Логины участников ВПР для Школа 5" in client.get(link.group(1)).text
    finally:
        _stop(server, log)
    assert f"the cabinet: {base}/" in (tmp_path / "web.log").read_text()


def _listening(pid: int, port: int) -> list[int]:
    """The workers of the server ``pid`` that listen on ``port``."""
    return [w.pid for w in psutil.Process(pid).children()
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in w.net_connections("tcp"))]


@pytest.mark.skipif(not balanced(), reason="SO_REUSEPORT spreads connections on Linux only")
def test_sbor_web_spreads_a_crowd_of_connections_over_its_workers(tmp_path: Path) -> None:
    """Forty users arriving at once, each keeping its connection open, are served by both
    workers, not all by the one the kernel happened to wake (flows.webserver)."""
    _workspace(tmp_path)
    server, base, log = _start(tmp_path, "--workers", "2")
    port = int(base.rsplit(":", 1)[1])
    try:
        deadline = time.monotonic() + 60
        while len(_listening(server.pid, port)) < 2:  # the first worker up answered /health already
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.2)
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(40)]
        for conn in crowd:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: sbor\r\n\r\n")
        for conn in crowd:
            assert conn.recv(4096).startswith(b"HTTP/1.1 200"), "every user is answered"
        served = {}
        for worker in psutil.Process(server.pid).children():
            mine = [c for c in worker.net_connections("tcp")
                    if c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED]
            if mine:
                served[worker.pid] = len(mine)
        for conn in crowd:
            conn.close()
        assert sum(served.values()) == 40
        # By a hash of each client's port: about 20 each; one worker with 32 or more would
        # happen about once in 100,000 runs by chance.
        assert len(served) == 2 and min(served.values()) >= 8, served
    finally:
        _stop(server, log)


def test_a_worker_of_sbor_web_that_dies_is_replaced_by_one_listening_on_the_port(tmp_path: Path) -> None:
    _workspace(tmp_path)
    server, base, log = _start(tmp_path, "--workers", "2")
    port = int(base.rsplit(":", 1)[1])
    try:
        deadline = time.monotonic() + 60
        while len(first := _listening(server.pid, port)) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.2)
        psutil.Process(first[0]).kill()
        deadline = time.monotonic() + 90
        while len(now := _listening(server.pid, port)) < 2 or first[0] in now:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.3)
        assert first[1] in now  # the other kept serving throughout
        assert httpx.get(base + "/health", timeout=10).text == "ok"
    finally:
        _stop(server, log)


def test_sbor_web_with_workers_says_in_one_line_that_its_port_is_taken(tmp_path: Path) -> None:
    _workspace(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "flows.cli", "--home", str(tmp_path), "web", "--port",
                               str(port), "--workers", "2"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    [line] = [x for x in done.stderr.splitlines() if x.strip()]
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line


def test_sbor_web_refuses_a_bad_cookie_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SBOR_COOKIE_SECURE must be 1 or 0"):
        load_web_settings({"SBOR_HOME": str(tmp_path), "SBOR_COOKIE_SECURE": "maybe"})
    secure = create_app(WebSettings(_workspace(tmp_path), cookie_secure=True))
    with TestClient(secure) as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"] == "max-age=31536000"
    secure.state.cab.cabinet.warehouse.engine.dispose()
