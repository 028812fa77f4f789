"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a CI file host.

That host is unreachable here (only PyPI and Debian's mirrors are), so ``make sanity`` puts this file where
ansible-test caches the download. It does what get-pip does for ansible-test's empty virtual environments:
install pip (from the wheel bundled with Python, via ensurepip), then let that pip install the packages
ansible-test asked for (for example ``pip==25.2``) from PyPI.
"""

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

# ensurepip in a child process: in-process it sets PIP_CONFIG_FILE=/dev/null, which would hide the
# machine's pip configuration (index, certificates) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet"] + args))
