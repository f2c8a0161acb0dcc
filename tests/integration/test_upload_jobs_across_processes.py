"""The upload screens' job status is shared by the server's worker processes (gunicorn, issue 13 item 6):
a job claimed in one process blocks a second import in another, its status is readable there, and a job
whose process was killed is shown as interrupted and no longer blocks."""
import os
import signal
import subprocess
import sys
import time

from flask import Flask

from app.views.jobs import FAILED, INTERRUPTED, RUNNING, JobRegistry

CLAIMER = r"""
import sys, time
from flask import Flask
from app.views.jobs import JobRegistry
app = Flask("worker", instance_path=sys.argv[1])
with app.app_context():
    registry = JobRegistry("usage")
    assert registry.claim("job-a", {"user": "staff", "file_name": "10月分.csv"}) is None
    registry.update("job-a", app, bytes_done=512, bytes_total=1024, state="running")
print("claimed", flush=True)
time.sleep(120)
"""


def test_a_job_of_another_process_blocks_and_is_interrupted_when_that_process_dies(tmp_path):
    app = Flask("this", instance_path=str(tmp_path))
    worker = subprocess.Popen([sys.executable, "-c", CLAIMER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        assert worker.stdout.readline().strip() == "claimed"
        with app.app_context():
            registry = JobRegistry("usage")
            running = registry.claim("job-b", {"user": "jimu", "file_name": "11月分.csv"})
            assert running is not None and running["id"] == "job-a" and running["file_name"] == "10月分.csv"
            seen = registry.get("job-a")
            assert seen["state"] == RUNNING and (seen["bytes_done"], seen["bytes_total"]) == (512, 1024)
            assert registry.get("job-b") is None  # refused, not registered

            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            seen = registry.get("job-a")
            assert seen["state"] == FAILED and seen["message"] == INTERRUPTED
            assert registry.claim("job-b", {"user": "jimu", "file_name": "11月分.csv"}) is None
            assert registry.running()["id"] == "job-b"
    finally:
        if worker.poll() is None:
            worker.kill()


def test_progress_held_back_goes_with_the_next_write(tmp_path):
    app = Flask("this", instance_path=str(tmp_path))
    with app.app_context():
        registry = JobRegistry("master")
        assert registry.claim("job-c", {"user": "staff", "file_name": "台帳.xlsx"}) is None
        for rows in range(1, 200):
            registry.update("job-c", app, rows=rows)  # most are held back (written every 0.25 s)
        time.sleep(0.01)
        registry.update("job-c", app, state="done", message="完了")
        job = registry.get("job-c")
        assert (job["state"], job["rows"], job["message"]) == ("done", 199, "完了")
