"""The config is the ground floor: it imports nothing of the package but the protocol table (pure data), so reading
and checking a config never loads the metrics (I3D, torch)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dvdgan"


def _package_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] == "dvdgan"}


def test_config_imports_only_the_protocol_table_and_that_imports_nothing() -> None:
    assert _package_imports(PACKAGE / "config.py") == {"dvdgan.protocols"}
    assert _package_imports(PACKAGE / "protocols.py") == set()


def test_building_a_config_in_a_fresh_process_loads_no_metrics() -> None:
    code = (
        "import sys\n"
        "import dvdgan.config as c\n"
        "for name in c.list_presets():\n"
        "    c.load_preset(name)\n"
        "c.DVDGANConfig().override(['eval.protocol=fvd64_12f'])\n"
        "print(sorted(m for m in sys.modules if m == 'dvdgan.metrics' or m.startswith('dvdgan.metrics.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         cwd=PACKAGE.parent)  # this checkout's dvdgan, whatever is installed
    assert out.stdout.strip() == "[]", out.stdout
