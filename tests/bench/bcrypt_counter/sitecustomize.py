"""Count bcrypt operations for the benchmark (scripts/bench.py); does nothing unless asked.

Put this folder on PYTHONPATH and set PROMACCESS_BENCH_BCRYPT_LOG to a file: every Python process that starts
with that environment (ansible-playbook on the controller, its lookups, and the module processes the local
connection starts for each task) wraps ``bcrypt.hashpw`` and ``bcrypt.checkpw``, which passlib's (libpass's)
bcrypt backend calls to hash and to verify, and appends one line per call to the file::

    <function> <cost> <seconds> <pid> <where> <program>

``<where>`` is the inventory host from PROMACCESS_BENCH_HOST (the bench playbooks set it for their host tasks
with ``environment:``), else ``controller``. Each line is one ``os.write`` to a file opened with O_APPEND, so lines from processes running at the same time
do not mix. No password, salt or hash is written.
"""

import os

_LOG = os.environ.get("PROMACCESS_BENCH_BCRYPT_LOG")


def _cost(salt) -> int:
    """The cost of a bcrypt salt or hash (``$2b$12$...``), or -1 when it cannot be read."""
    try:
        text = salt.decode("ascii") if isinstance(salt, (bytes, bytearray)) else str(salt)
        return int(text.split("$")[2])
    except (ValueError, IndexError, UnicodeDecodeError):
        return -1


def _install(path: str) -> None:
    import sys
    import time

    try:
        import bcrypt
    except ImportError:
        return
    if getattr(bcrypt, "_promaccess_bench_counted", False):
        return
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    program = program.replace(" ", "_") or "python"

    def counted(name, func, salt_index):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                salt = args[salt_index] if len(args) > salt_index else kwargs.get("salt", kwargs.get("hashed_password"))
                where = os.environ.get("PROMACCESS_BENCH_HOST", "").replace(" ", "_") or "controller"
                line = "%s %d %.6f %d %s %s\n" % (name, _cost(salt), elapsed, os.getpid(), where, program)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode("ascii", "replace"))
                finally:
                    os.close(fd)

        wrapper.__name__ = func.__name__
        wrapper.__doc__ = func.__doc__
        return wrapper

    bcrypt.hashpw = counted("hashpw", bcrypt.hashpw, 1)
    bcrypt.checkpw = counted("checkpw", bcrypt.checkpw, 1)
    bcrypt._promaccess_bench_counted = True


if _LOG:
    _install(_LOG)
