"""How much one machine serves: the course's JupyterHub with N students doing fetch, run and submit at once.

Run as root (it creates Unix users and removes them again): ``.venv/bin/python benchmarks/hub_load.py`` (default
20 students; ``--students N``). It sets the class up exactly as tests/jupyter/test_hub.py does (tests/hub_utils.py: real
Unix users with 0700 homes, PAM logins, the shipped deploy/jupyterhub/ configuration) and measures

- the hub's start, each user server's start (all students' servers asked for at once), and the hub's own memory
  and the proxy's;
- memory per user server, idle and with a kernel running the exercise: PSS (each shared page counted once across
  all processes, so the figures add up) and RSS of the server's whole process tree;
- N students at once, each through the hub's REST API with their own token: list the released exercise, fetch it,
  start a kernel, run every code cell of the notebook with its answers filled in, save it, submit it. Latency of
  each step over all students (median, 95th percentile, max) and the wall time of the whole wave;
- then the instructor's side: collect through Formgrader and the course's sandboxed ``python -m grading
  autograde`` of the N submissions.

It prints one table (Markdown). Nothing is asserted: speed is measured here, never in tests.
"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import hub_utils as hu  # noqa: E402

EXERCISE = "ex01_perceptron"


def tree_memory(pid):
    processes = hu.descendants(pid)
    return hu.memory_mib(processes)


def run_cells(kernel, notebook, user):
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            status, _, errors = kernel.run(source, timeout=300)
            if status != "ok":
                raise hu.HubError(f"{user}: a cell failed: {errors}")


def student_wave(hub, student, kernels_up, release_kernels):
    """One student's fetch, run and submit; returns {step: seconds} (and keeps the kernel until told)."""
    client = hub.sessions[student]
    times = {}

    def timed(step, call):
        started = time.monotonic()
        result = call()
        times[step] = time.monotonic() - started
        return result

    path = f"{EXERCISE}/{EXERCISE}.ipynb"
    timed("list", client.assignments)
    timed("fetch", lambda: client.assignments("fetch", EXERCISE))
    notebook = hu.answered(timed("open the notebook", lambda: client.read_notebook(path)), EXERCISE)
    kernel = timed("start a kernel", client.kernel)
    try:
        started = time.monotonic()
        run_cells(kernel, notebook, student)
        times["run every cell"] = time.monotonic() - started
        kernels_up.append(student)
        started = time.monotonic()
        release_kernels.wait(timeout=600)
        times["wait for the class (kernel idle)"] = time.monotonic() - started
    finally:
        kernel.close()
    timed("save", lambda: client.write_notebook(path, notebook))
    timed("submit", lambda: client.assignments("submit", EXERCISE))
    return times


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    args = parser.parse_args()
    missing = hu.missing_requirements()
    if missing:
        sys.exit("cannot run: " + "; ".join(missing))
    with hu.one_hub_at_a_time():  # no test's hub on the machine meanwhile (the hub tests take the same lock)
        measure(args)


def measure(args):
    import threading

    load_before = os.getloadavg()[0]
    hub = hu.HubClass(students=args.students)
    rows = []
    try:
        hub.setup()
        hub.start_hub()
        rows.append(("hub start (process start to API answering)", f"{hub.timings['hub start (s)']:.1f} s"))
        users = [hub.instructor, *hub.students]
        started = time.monotonic()
        for user in users:
            hub.login(user)
        rows.append((f"{len(users)} PAM logins + token, one after the other",
                     f"{time.monotonic() - started:.1f} s"))
        alone = hub.start_server(hub.instructor)
        rows.append(("one server's start, alone (POST to ready)", f"{alone:.1f} s"))
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
            starts = list(pool.map(hub.start_server, hub.students))
        rows.append((f"{len(hub.students)} servers asked for at once: all ready",
                     f"{time.monotonic() - started:.1f} s"))
        rows.append(("one server's start (of those): median / max",
                     f"{statistics.median(starts):.1f} / {max(starts):.1f} s"))
        time.sleep(5)  # let the servers settle
        hub_pss, hub_rss = hu.memory_mib([hub.hub.pid])
        proxy = [pid for pid in hub.hub_children()
                 if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        proxy_pss, proxy_rss = hu.memory_mib(proxy)
        rows.append(("hub / proxy memory (PSS)", f"{hub_pss:.0f} / {proxy_pss:.0f} MiB"))
        idle = [tree_memory(hub.server_pid(s)) for s in hub.students]
        rows.append(("user server, idle: PSS / RSS (median)",
                     f"{statistics.median(p for p, _ in idle):.0f} / {statistics.median(r for _, r in idle):.0f} MiB"))

        instructor = hub.sessions[hub.instructor]
        kernel = instructor.kernel()
        try:
            rc, text = kernel.shell([str(hub.env_dir / "bin" / "python"), "-m", "grading", "release", EXERCISE],
                                    cwd=hub.course)
            assert rc == 0, text
            assert instructor.ok("POST", instructor.server(f"/formgrader/api/assignment/{EXERCISE}/release"))[
                "success"]

            # One user alone first: a kernel and the solved exercise, for comparison with the wave below.
            import json
            notebook = hu.answered(json.loads((hu.ROOT / "exercises" / EXERCISE / f"{EXERCISE}.ipynb").read_text()),
                                   EXERCISE)
            started = time.monotonic()
            probe = instructor.kernel()
            kernel_start = time.monotonic() - started
            try:
                started = time.monotonic()
                run_cells(probe, notebook, hub.instructor)
                rows.append(("one user alone: start a kernel / run every cell of ex01",
                             f"{kernel_start:.2f} / {time.monotonic() - started:.2f} s"))
            finally:
                probe.close()

            kernels_up, release_kernels = [], threading.Event()
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
                waves = [pool.submit(student_wave, hub, s, kernels_up, release_kernels) for s in hub.students]
                while len(kernels_up) < len(hub.students) and not any(w.done() for w in waves):
                    time.sleep(0.5)
                if len(kernels_up) == len(hub.students):
                    busy = [tree_memory(hub.server_pid(s)) for s in hub.students]
                    rows.append(("user server with its kernel (after running ex01): PSS / RSS (median)",
                                 f"{statistics.median(p for p, _ in busy):.0f} / "
                                 f"{statistics.median(r for _, r in busy):.0f} MiB"))
                release_kernels.set()
                results = [w.result() for w in waves]
            wall = time.monotonic() - started
            rows.append((f"{len(hub.students)} students at once: list, fetch, kernel, run, save, submit: wall",
                         f"{wall:.1f} s"))
            for step in results[0]:
                values = [r[step] for r in results]
                rows.append((f"  {step}: median / 95th percentile / max",
                             f"{statistics.median(values):.2f} / {percentile(values, 0.95):.2f} / "
                             f"{max(values):.2f} s"))

            started = time.monotonic()
            assert instructor.ok("POST", instructor.server(f"/formgrader/api/assignment/{EXERCISE}/collect"))[
                "success"]
            rows.append((f"instructor: collect {len(hub.students)} submissions (Formgrader)",
                         f"{time.monotonic() - started:.1f} s"))
            started = time.monotonic()
            rc, text = kernel.shell([str(hub.env_dir / "bin" / "python"), "-m", "grading", "autograde", EXERCISE],
                                    cwd=hub.course, timeout=1200)
            assert rc == 0, text[-2000:]
            rows.append((f"instructor: sandboxed autograde of {len(hub.students)} (python -m grading autograde)",
                         f"{time.monotonic() - started:.1f} s"))
        finally:
            kernel.close()
    except BaseException:
        # What the servers said (each user's server logs into the hub's log): websockets, timeouts, errors.
        words = ("websocket", "ping", "timeout", "timed out", "error", "traceback", "closed")
        lines = [line for line in hub.log_tail(100000).splitlines() if any(w in line.lower() for w in words)]
        print("\nThe hub's log, lines about websockets, timeouts and errors (last 60):\n" + "\n".join(lines[-60:]),
              file=sys.stderr)
        raise
    finally:
        forced = hub.close()
    print(f"\nJupyterHub class benchmark: {args.students} students, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; load average before "
          f"{load_before:.1f}, after {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)\n")
    print("| measured | value |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    if forced:
        print("\nclean-up had to force: " + "; ".join(forced))


if __name__ == "__main__":
    main()
