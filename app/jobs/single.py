"""One background thread per process for a job (the render job, the notice mails): a start while it runs
does not start a second thread but asks the running one to look again before it ends, so no request is
left behind. The job calls `finish_unless_asked_again()` when it has nothing left to do."""
import threading


class SingleThreadJob:
    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def start(self, target, *args, on_start=None) -> bool:
        """Run target(*args) in the job's thread unless it runs already. `on_start()` runs under the lock
        just before a new thread starts. True if started now."""
        with self._lock:
            if self._thread is not None:  # cleared by the job itself, under this lock, as it decides to end
                self._again = True
                return False
            thread = threading.Thread(target=self._run, args=(target, *args), name=self.name, daemon=True)
            self._thread, self._again = thread, False
            if on_start is not None:
                on_start()
            thread.start()
            return True

    def _run(self, target, *args):
        try:
            target(*args)
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread, self._again = None, False

    def finish_unless_asked_again(self) -> bool:
        """True: the job ends now (a start from here on starts a new thread). False: a start came while it
        ran; look once more."""
        with self._lock:
            if self._again:
                self._again = False
                return False
            self._thread = None
            return True

    def is_running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def wait_until_idle(self, timeout: float) -> bool:
        """For tests and shutdown: wait for the current thread; True if none runs any more."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
