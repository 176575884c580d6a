#!/usr/bin/python3
"""What a release gate must guarantee about its own outputs (docs/security.md).

  reliability_test.py SYNAPSE_CLI WORK_DIR

- determinism: two `synapse analyze` runs with one seed write byte-identical activations
  (.npy) and report.json files that are identical apart from the timing and environment
  fields (`timing`, `environment`, and the `seconds` each stage records);
- atomic outputs: runs killed with SIGKILL at points spread over a whole run leave every
  output file (report.json, report.html, .npy, index.json) either as the previous complete
  file or as a complete new one, never truncated; a temporary file left behind is hidden;
- --memory-budget: a budget too small for the extraction exits 2 with one line, before any
  output is touched.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

cli, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

# The embedded default model on a 120-message sample, every stage on a reduced grid.
ARGS = ["analyze", "--max-examples", "120", "--k", "5,25%", "--random-seeds", "2", "--noise", "0.5",
        "--weight-noise", "0.1", "--weight-noise-seeds", "2", "--threads", "1", "--quiet"]
TIMING_KEYS = {"timing", "environment", "seconds"}


def fail(message):
    print("reliability_test: " + message, file=sys.stderr)
    sys.exit(1)


def analyze(out, *extra):
    args = [cli] + ARGS + ["--out", out, "--save-activations", out + "/activations"] + list(extra)
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(args), r.returncode, r.stderr))


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def read(path):
    with open(path, "rb") as f:
        return f.read()


def outputs(directory):
    """Every output file under `directory`, relative path → bytes (hidden temporaries apart)."""
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            found[os.path.relpath(path, directory)] = read(path)
    return found


def complete(name, data):
    """Whether `data` is a whole file of its kind (a truncated one is not)."""
    try:
        if name.endswith(".json"):
            value = json.loads(data)
            return "summary" in value if name.endswith("report.json") else "format" in value
        if name.endswith(".html"):
            return data.rstrip().endswith(b"</html>")
        if name.endswith(".npy"):
            if data[:6] != b"\x93NUMPY":
                return False
            header_len = struct.unpack("<H", data[8:10])[0]
            header = eval(data[10:10 + header_len].decode("latin1"))  # a NumPy header is a dict literal
            count = 1
            for d in header["shape"]:
                count *= d
            item = int(header["descr"][2:])
            return len(data) == 10 + header_len + count * item
    except (ValueError, KeyError, SyntaxError, struct.error):
        return False
    return True


# ---------------------------------------------------------------- determinism
started = time.monotonic()
analyze(work + "/a")
run_seconds = time.monotonic() - started
analyze(work + "/b")
a, b = outputs(work + "/a"), outputs(work + "/b")
if sorted(a) != sorted(b):
    fail("the two runs wrote different files: %s vs %s" % (sorted(a), sorted(b)))
for name in sorted(a):
    if name.endswith(".npy") or name.endswith("index.json"):
        if a[name] != b[name]:
            fail("%s differs between two runs with one seed" % name)
report_a, report_b = json.loads(a["report.json"]), json.loads(b["report.json"])
if json.dumps(without_timing(report_a)) != json.dumps(without_timing(report_b)):
    for key in report_a:
        if json.dumps(without_timing(report_a[key])) != json.dumps(without_timing(report_b.get(key))):
            fail("report.json differs between two runs with one seed, in \"%s\"" % key)
    fail("report.json differs between two runs with one seed")
if without_timing(report_a) == report_a:
    fail("the report has no timing fields to set aside: the comparison above proves less than it says")
print("determinism: %d files identical across two runs (%.1f s a run)" % (len(a), run_seconds))

# ---------------------------------------------------------------- SIGKILL mid-run
# The killed runs use another seed, so a file they finish is a different complete file.
kill_dir = work + "/killed"
shutil.copytree(work + "/a", kill_dir)
previous = outputs(kill_dir)
fractions = [0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 1.0, 1.1]
replaced = 0
for i, fraction in enumerate(fractions):
    args = [cli] + ARGS + ["--seed", str(i + 1), "--out", kill_dir, "--save-activations", kill_dir + "/activations"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(run_seconds * fraction)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    now = outputs(kill_dir)
    for name, data in previous.items():
        if name not in now:
            fail("after SIGKILL at %.0f%% of a run, %s is gone" % (100 * fraction, name))
    for name, data in now.items():
        if data != previous.get(name):
            if not complete(name, data):
                fail("after SIGKILL at %.0f%% of a run, %s is not a complete file" % (100 * fraction, name))
            replaced += 1
    previous = now
hidden = [n for n in os.listdir(kill_dir) if n.startswith(".")]
print("SIGKILL: %d kills, %d files replaced by complete new ones, never a partial file; "
      "%d hidden temporaries left" % (len(fractions), replaced, len(hidden)))
if replaced == 0:
    fail("no killed run got as far as writing a file: the kills prove nothing about the writes")

# ---------------------------------------------------------------- memory budget
before = outputs(kill_dir)
args = [cli] + ARGS + ["--out", kill_dir, "--memory-budget", "2M"]
r = subprocess.run(args, capture_output=True, text=True)
if r.returncode != 2 or r.stderr.count("\n") != 1 or "[synapse.data.212]" not in r.stderr:
    fail("--memory-budget 2M: expected exit 2 with one line [synapse.data.212], got %d: %r" % (r.returncode, r.stderr))
if "lower --max-examples" not in r.stderr or "more than the memory budget of 2.0 MiB" not in r.stderr:
    fail("--memory-budget: the message does not say what to do: " + r.stderr)
if outputs(kill_dir) != before:
    fail("a run refused for its memory budget changed the outputs")
print("memory budget: " + r.stderr.strip())
