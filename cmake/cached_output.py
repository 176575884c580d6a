#!/usr/bin/python3
"""Runs a build step that generates test data, or restores its output from a cache.

    cached_output.py --out DIR --key FILE... [--key-command CMD...] -- COMMAND... [--then COMMAND...]

Some test data takes minutes to generate (Hugging Face tokenizers trained by the Node
binding and their reference encodings) and is a pure function of files in the checkout
(the scripts, the npm lock file) and of the tools' versions. ccache keeps compiled objects
across build directories; this keeps such outputs the same way: the key is a SHA-256 over
the --key files' bytes, the --key-command outputs (e.g. `node --version`) and the commands
(paths reduced to their last component, so clones in other folders share entries), the entry is
a gzip tar of the files the commands created or changed under DIR, under
$SYNAPSE_GENERATED_CACHE (default ~/.cache/synapse/generated). On a hit the files are
restored with the current time as their mtime (so make sees them as new); on a miss the
commands run in order (`--then` separates them) and their output is stored. A damaged entry
is regenerated; a cache that cannot be written never fails the build.
SYNAPSE_GENERATED_CACHE=off disables it.
"""
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import time


def parse(argv):
    out, keys, key_commands = None, [], []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--out":
            out = argv[i + 1]
        elif argv[i] == "--key":
            keys.append(argv[i + 1])
        elif argv[i] == "--key-command":
            key_commands.append(argv[i + 1])
        else:
            sys.exit(f"cached_output.py: unknown option {argv[i]}")
        i += 2
    commands, current = [], []
    for a in argv[i + 1:]:
        if a == "--then":
            commands.append(current)
            current = []
        else:
            current.append(a)
    commands.append(current)
    if out is None or not keys or not all(commands):
        sys.exit("usage: cached_output.py --out DIR --key FILE... [--key-command CMD] -- COMMAND [--then COMMAND]")
    return out, keys, key_commands, commands


def snapshot(directory):
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            st = os.stat(path)
            found[os.path.relpath(path, directory)] = (st.st_mtime_ns, st.st_size)
    return found


def main():
    out, keys, key_commands, commands = parse(sys.argv[1:])
    os.makedirs(out, exist_ok=True)
    cache_root = os.environ.get("SYNAPSE_GENERATED_CACHE") or os.path.expanduser("~/.cache/synapse/generated")
    digest = hashlib.sha256(b"synapse-generated-1\0")
    for path in keys:
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    # The step itself: the output folder's name and every argument, with paths reduced to
    # their last component (build directories differ between clones; script names do not).
    digest.update(os.path.basename(os.path.normpath(out)).encode() + b"\0")
    for command in commands:
        for arg in command:
            name, eq, value = arg.rpartition("=") if "=" in arg else ("", "", arg)
            digest.update((name + eq + (os.path.basename(value) if "/" in value else value)).encode() + b"\0")
        digest.update(b"\1")
    for command in key_commands:
        r = subprocess.run(command, shell=True, capture_output=True)
        digest.update(command.encode() + b"\0" + r.stdout + b"\0")
    entry = os.path.join(cache_root, digest.hexdigest() + ".tar.gz")
    label = os.path.basename(os.path.normpath(out))

    if cache_root != "off" and os.path.exists(entry):
        try:
            with tarfile.open(entry) as tar:
                members = tar.getmembers()
                if not members or any(m.name.startswith(("/", "..")) or not m.isfile() for m in members):
                    raise tarfile.TarError("unexpected member")
                tar.extractall(out, members=members)
            now = time.time()
            for m in members:
                os.utime(os.path.join(out, m.name), (now, now))
            print(f"cached_output: {label}: restored {len(members)} files from {entry}")
            return 0
        except (OSError, tarfile.TarError, EOFError) as e:
            print(f"cached_output: {label}: the cache entry is damaged ({str(e).splitlines()[0]}); generating again")

    before = snapshot(out)
    for command in commands:
        r = subprocess.run(command)
        if r.returncode != 0:
            return r.returncode
    after = snapshot(out)
    changed = sorted(p for p, stat in after.items() if before.get(p) != stat)
    if cache_root == "off" or not changed:
        return 0
    try:
        os.makedirs(cache_root, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_root, prefix=".tmp-", suffix=".tar.gz")
        os.close(fd)
        with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
            for path in changed:
                tar.add(os.path.join(out, path), arcname=path)
        os.replace(tmp, entry)
        print(f"cached_output: {label}: stored {len(changed)} files in {entry}")
    except OSError as e:
        print(f"cached_output: {label}: not cached ({e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
