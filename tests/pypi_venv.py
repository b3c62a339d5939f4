"""A Python with a package from PyPI, in a virtual environment of a test's work directory: what
the tests that compare with another client or library share (they skip that comparison, with
the reason, where the package cannot be had)."""
import os
import subprocess
import sys


class Unavailable(Exception):
    """The package cannot be installed here (no network, no wheel for this platform, ...)."""


def python_with(work, package, module=None, timeout=600):
    """The interpreter of WORK/<module>-venv, with `package` installed (imported as `module`,
    by default the package's name with '-' as '_'). @raises Unavailable with the reason."""
    module = module or package.replace("-", "_")
    venv = os.path.join(work, module + "-venv")
    python = os.path.join(venv, "bin", "python")
    try:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True,
                           capture_output=True, timeout=300)
        if subprocess.run([python, "-c", "import " + module],
                          capture_output=True).returncode != 0:
            subprocess.run([python, "-m", "pip", "install", "--quiet", package], check=True,
                           capture_output=True, timeout=timeout)
        return python
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = (getattr(e, "stderr", b"") or b"").decode(errors="replace").strip()
        raise Unavailable("%s%s" % (e, (": " + detail.splitlines()[-1]) if detail else ""))
