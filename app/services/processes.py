"""Is the process that holds something still running? Used to free what a killed process held (a render
claim, an upload job) at once instead of after a timeout. Only for processes of this machine: another
machine's process cannot be asked, so its holdings wait for their timeout."""
import os
import socket

HOST = socket.gethostname()


def running_here(pid: int) -> bool:
    """True if a process with this id runs on this machine (a reused id also counts: the caller's timeout
    then applies)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, under another user
        return True
    return True
