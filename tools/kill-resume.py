#!/usr/bin/env python3
"""SIGKILLs a `heed train --save` run at every write, fsync and rename of its checkpoint
saves (strace fault injection) and at random moments, then resumes each killed run the way a
user would, and checks that nothing is ever lost:

  - after every kill, the checkpoint on disk (if any) loads: `heed eval` accepts it;
  - every killed run, resumed (or restarted when no checkpoint was written yet) to the end,
    finishes with a checkpoint byte-identical to the uninterrupted run's, and the same
    test loss and accuracy;
  - no temporary file of a killed save is left once the resumed run has saved.

Usage: tools/kill-resume.py HEED_BINARY [--epochs 3] [--timed 40] [--data DIR] [--work DIR]
Needs strace (Debian: apt-get install strace). Prints one line per kill and a summary; exits
non-zero on the first failure. Standard library only.
"""
import argparse, json, os, random, re, shutil, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("heed")
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--timed", type=int, default=40, help="kills at random moments, besides the injected ones")
p.add_argument("--data", default=None, help="Fashion-MNIST directory (default: heed's)")
p.add_argument("--work", default=None)
p.add_argument("--seed", type=int, default=20261202)
args = p.parse_args()

work = args.work or tempfile.mkdtemp(prefix="heed-kill-")
os.makedirs(work, exist_ok=True)
data = ["--data", args.data] if args.data else []
train = [args.heed, "train", "--model", "mlp", "--epochs", str(args.epochs), "--seed", "5", "--json"] + data


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def fail(msg):
    print(f"kill-resume: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


# The uninterrupted run.
ref_ck = os.path.join(work, "reference.safetensors")
t0 = time.time()
r = run(train + ["--save", ref_ck])
if r.returncode != 0:
    fail(f"reference run: {r.stderr}")
duration = time.time() - t0
reference = json.loads(r.stdout)
ref_bytes = open(ref_ck, "rb").read()
print(f"reference: {args.epochs} epochs in {duration:.1f} s, test loss {reference['test_loss']}, "
      f"accuracy {reference['test_accuracy']}")


def check_after_kill(ck, label):
    """The checkpoint left by a kill, if any, must load."""
    if not os.path.exists(ck):
        return "none"
    r = run([args.heed, "eval", "--checkpoint", ck, "--json"] + data)
    if r.returncode != 0:
        fail(f"{label}: the checkpoint left by the kill does not load: {r.stderr}")
    return f"epoch {json.loads(r.stdout)['epoch']}"


def finish(ck, label):
    """Resumes (or restarts) the killed run to the end and compares it with the reference."""
    cmd = train + ["--save", ck] + (["--resume", ck] if os.path.exists(ck) else [])
    r = run(cmd)
    if r.returncode != 0:
        fail(f"{label}: resuming: {r.stderr}")
    summary = json.loads(r.stdout)
    if open(ck, "rb").read() != ref_bytes:
        fail(f"{label}: the resumed run's checkpoint differs from the uninterrupted run's")
    if (summary["test_loss"], summary["test_accuracy"]) != (reference["test_loss"], reference["test_accuracy"]):
        fail(f"{label}: resumed run ends at {summary['test_loss']}, the uninterrupted run at {reference['test_loss']}")
    left = [f for f in os.listdir(os.path.dirname(ck)) if ".tmp-" in f]
    if left:
        fail(f"{label}: temporary files left after the resumed run saved: {left}")


def trial_dir(label):
    d = os.path.join(work, re.sub(r"[^A-Za-z0-9_.-]", "_", label))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


kills = 0

# Kills injected at the N-th call of each syscall, for every N the run makes: strace prints
# the file each call worked on (-y), so the kills that hit a save are known and counted.
SYSCALLS = {"write": "write", "fsync": "fsync", "rename": "rename"}
for name in SYSCALLS:
    n = 0
    hit = 0
    while True:
        n += 1
        label = f"{name}#{n}"
        d = trial_dir(label)
        ck = os.path.join(d, "ck.safetensors")
        log = os.path.join(d, "strace.log")
        r = run(["strace", "-f", "-qq", "-y", "-o", log, "-e", f"trace={name}",
                 "-e", f"inject={name}:signal=KILL:when={n}"] + train + ["--save", ck])
        text = open(log).read()
        if r.returncode == 0:
            break  # the run made fewer than n such calls: every one has been tried
        if r.returncode not in (-9, 137) and "killed by SIGKILL" not in text:
            fail(f"{label}: exit {r.returncode} without the injected kill: {r.stderr}")
        # The call the kill landed on: the one left unfinished (strace prints its start with
        # "<unfinished ...>" when the tracee dies inside it), else the last one traced.
        calls = [l for l in text.splitlines() if re.search(rf"\b{name}\(", l)]
        unfinished = [l for l in calls if "unfinished" in l or l.rstrip().endswith("= ?")]
        target = (unfinished or calls or ["?"])[-1]
        in_save = "safetensors" in target
        state = check_after_kill(ck, label)
        finish(ck, label)
        kills += 1
        hit += in_save
        where = re.search(r"<([^>]*)>", target)
        print(f"{label:>10}: killed in {'a save' if in_save else 'elsewhere'} "
              f"({where.group(1) if where else target[:60]}); left checkpoint: {state}; resumed = uninterrupted")
    print(f"{name}: {n - 1} calls, each killed once ({hit} inside a checkpoint save)")

# Kills at random moments across the run.
rng = random.Random(args.seed)
for i in range(args.timed):
    label = f"timed#{i + 1}"
    d = trial_dir(label)
    ck = os.path.join(d, "ck.safetensors")
    delay = rng.uniform(0.05, duration)
    proc = subprocess.Popen(train + ["--save", ck], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()
    proc.wait()
    state = check_after_kill(ck, label)
    finish(ck, label)
    kills += 1
    print(f"{label:>10}: killed at {delay:.2f} s; left checkpoint: {state}; resumed = uninterrupted")

print(f"kill-resume: {kills} SIGKILLs, every checkpoint left behind loaded, every resumed run "
      f"ended byte-identical to the uninterrupted one")
shutil.rmtree(work, ignore_errors=True)
