"""Build hook: compile src/nbexp/_native.c, the optional compiled twin of metric extraction's
hot loop.

nbexp works without it (its callers have pure-Python twins, used when the module is missing),
so a machine without a C compiler still installs: the hook then says why on stderr and builds
a pure-Python package. An editable install (`uv sync`) compiles next to the source, where the
package is imported from; a wheel carries the module and is tagged for this platform.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/nbexp/_native.c")


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("NBEXP_NO_NATIVE_BUILD"):
            return
        root = Path(self.root)
        name = "_native" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        if version == "editable":
            target = root / "src" / "nbexp" / name
        else:
            target = Path(tempfile.mkdtemp(prefix="nbexp-native-")) / name
        if not compile_module(root / SOURCE, target):
            return
        if version != "editable":
            build_data["force_include"][str(target)] = f"nbexp/{name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True


def compile_module(source: Path, target: Path) -> bool:
    """Compile `source` into the extension module `target`; False (and why, on stderr) when
    there is no compiler or it fails."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    if shutil.which(compiler[0]) is None:
        compiler = ["cc"]
        if shutil.which("cc") is None:
            print("nbexp: no C compiler found; installing without _native", file=sys.stderr)
            return False
    include = sysconfig.get_paths()["include"]
    command = [
        *compiler,
        "-O3",
        "-fPIC",
        "-shared",
        "-Wall",
        f"-I{include}",
        str(source),
        "-o",
        str(target) + ".tmp",
    ]
    if sys.platform == "darwin":
        command[1:1] = ["-undefined", "dynamic_lookup"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(
            f"nbexp: compiling _native failed; installing without it:\n{done.stderr}",
            file=sys.stderr,
        )
        return False
    os.replace(str(target) + ".tmp", target)  # never a half-written module where one is loaded
    return True
