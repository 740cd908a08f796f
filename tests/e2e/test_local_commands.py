"""`listguard local ...` turns what the user can fix into one `error:` line and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from listguard_console.cli import app


@pytest.mark.parametrize("port", ["70000", "-1", "0", "65536"])
def test_serve_on_a_port_that_is_not_a_tcp_port_fails_with_one_error_line(port: str) -> None:
    # When the local AWS is asked to listen on a port outside 1-65535
    result = CliRunner().invoke(app, ["local", "serve", "--port", port])
    # Then one line says so, before anything is deployed
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: port {port} is not a TCP port: give one from 1 to 65535 (default 4566)"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("endpoint_url", "problem"),
    [
        ("notaurl", "is not an http:// or https:// URL"),
        ("ftp://127.0.0.1:4566", "is not an http:// or https:// URL"),
        ("http://", "is not an http:// or https:// URL"),
        ("http://127.0.0.1:99999", "is not a valid URL"),
    ],
)
def test_outputs_from_an_endpoint_that_is_not_a_url_fails_with_one_error_line(
    endpoint_url: str, problem: str
) -> None:
    result = CliRunner().invoke(app, ["local", "outputs", "--endpoint-url", endpoint_url])

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: endpoint {endpoint_url!r} {problem}")
    assert "Traceback" not in result.output


def test_outputs_from_an_endpoint_where_nothing_listens_fails_with_one_error_line(free_port: int) -> None:
    endpoint_url = f"http://127.0.0.1:{free_port}"

    result = CliRunner().invoke(app, ["local", "outputs", "--endpoint-url", endpoint_url])

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: no local cloud with stack listguard at {endpoint_url}: ")
