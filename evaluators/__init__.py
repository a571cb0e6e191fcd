"""Evaluators: the problem contract, the sandbox and the Ray evaluation pool.

Knows nothing of LLMs or of the program database.

What stops a hostile candidate, and where (evaluators.confinement, forkserver, sandbox):

- its own process, session and fresh working directory (also HOME and TMPDIR), with an
  allow-listed environment: API keys and tokens never reach it;
- resource limits: address space, CPU seconds, file size, open files, and a pids cgroup
  (or RLIMIT_NPROC where no cgroup is writable) against fork bombs;
- a wall clock enforced by the fork server, which kills the process group and, as child
  subreaper, every daemon that escaped it; the harness keeps a backstop and replaces a
  fork server that died;
- bubblewrap where installed: read-only file system, private /tmp, /dev/shm and home,
  own PID namespace (the harness's /proc is invisible), no network, no capabilities.
  Without it, a network namespace is still attempted, and each missing layer is logged
  once;
- results come back over a pipe created for that one evaluation, must carry its nonce and
  be a single message, and need a finite score;
- on a ``scoring: channel`` problem the candidate runs in a second process of its own
  (evaluators.channel, evaluators.candidate): an allow-listed view with no problem data,
  evaluator or launch folder, as nobody, with a total disk quota and a scratch folder
  wiped after each evaluation; it reaches the scorer only as plain-data answers, so the
  score and its pipe never exist where the candidate runs. ``in_process`` problems share
  the scorer's process with the candidate and are announced as such.
"""
