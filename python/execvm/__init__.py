"""execvm: programs as data, run here, in execvm VMs, in containers or nowhere.

A program is a list of strings, a pipeline is data, and where each command runs is its runner's
choice, bound when the command is made::

    import execvm
    computer = execvm.exec_runner()            # or vm_runner(bare=True), docker_runner(...)
    block = computer.command("/bin/echo", "hello") | computer.command("/bin/wc", "-c")
    assert block.run() == "6"

    block = execvm.tar("file1", "file2", compress="gzip") \\
        | computer.command("/bin/tar", "-tzf", "-") | computer.command("wc", "-l") > "output"
    block.run()                                 # the file output holds "2"

Every stage runs at once, connected by pipes; ``run()`` returns the output as text without its
trailing newline and raises :class:`StageError` when a stage failed (``result()`` returns every
stage's status instead). Pipelines convert to and from JSON (``to_json``, ``from_json``).
"""
from ._execvm import (  # noqa: F401
    Chain,
    Pipeline,
    PipelineError,
    Result,
    Runner,
    StageResult,
    build,
    command,
    docker_runner,
    exec_runner,
    file,
    from_json,
    tar,
    void_runner,
)
from . import _execvm

__all__ = [
    "Chain", "Pipeline", "PipelineError", "Result", "Runner", "StageError", "StageResult",
    "build", "chain", "command", "docker_runner", "exec_runner", "file", "from_json", "tar",
    "vm_runner", "void_runner",
]


class StageError(PipelineError):
    """A stage of a pipeline failed: its index, its status, its stderr and the whole result."""

    def __init__(self, result, stage):
        self.result = result
        self.stage = stage
        s = result.stages[stage]
        self.status = s.status
        self.stderr = s.stderr
        how = ("was killed by signal %d" % (s.status - 128) if s.status > 128
               else "exited with status %d" % s.status)
        message = "stage %d (%s) %s" % (stage + 1, s.command, how)
        detail = s.error or s.stderr.decode(errors="replace").strip()
        super().__init__(message + (": " + detail if detail else ""))


def vm_runner(*, bare=False, image="", kernel="", initrd="", cpus=0, memory="", devices=None,
              execvm="", **execvm_options):
    """Each command in its own execvm VM, with execvm's options.

    The named ones map to ``--bare``, ``--image``, ``--kernel``, ``--cpus`` and ``--memory``;
    ``devices={"/local/file": "/dev/vda"}`` attaches each file as a virtio disk (``/dev/vda``,
    ``/dev/vdb``, ... in order). Any other keyword is the execvm option of that name
    (``sudo=True`` -> ``--sudo``, ``volume=["/d:/d:ro"]`` -> ``--volume /d:/d:ro``, ``env=...``).
    """
    args = []
    for name, value in execvm_options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, str(value)]
    return _execvm._vm_runner(bare, image, kernel, initrd, int(cpus), str(memory),
                              dict(devices or {}), args, execvm)


def chain(*commands):
    """Commands run one after the other, stopping at the first failure: chain(["/bin/true"],
    ["/bin/true"]). Each is an argv (a list of strings) or a command; pass the chain to
    command() or runner.command(). It runs with the ``chain`` program where it runs."""
    argvs = []
    for c in commands:
        if isinstance(c, Pipeline):
            argvs += _argvs_of(c)
        else:
            argvs.append([str(a) for a in c])
    return _execvm._chain(argvs)


def _argvs_of(pipeline):
    import json
    node = json.loads(pipeline.to_json())
    body = node.get("Command")
    if body is None or "output" in body:
        raise PipelineError("chain() takes commands, not pipelines")
    return body["chain"] if "chain" in body else [body["args"]]


def _result(self, input=None, capture_output=True, capture_stderr=False, runner=None, execvm=""):
    """Runs the pipeline and returns its Result: every stage's status (and stderr, with
    capture_stderr), the output as bytes (with capture_output; else it goes to stdout).
    RUNNER runs the commands bound to none (default: exec_runner()); INPUT (str or bytes) is
    the first stage's stdin. KeyboardInterrupt after Ctrl-C, once every stage has stopped."""
    if isinstance(input, str):
        input = input.encode()
    return self._result(input=input, capture_output=capture_output,
                        capture_stderr=capture_stderr, runner=runner, execvm=execvm)


def _run(self, input=None, runner=None, execvm=""):
    """Runs the pipeline and returns its output as text, without the trailing newline. Raises
    StageError for the last failing stage (with its stderr), KeyboardInterrupt after Ctrl-C."""
    r = _result(self, input=input, capture_stderr=True, runner=runner, execvm=execvm)
    for i in reversed(range(len(r.stages))):
        if r.stages[i].status != 0:
            raise StageError(r, i)
    if r.interrupted:
        raise PipelineError("the pipeline was stopped by signal %d" % r.interrupted)
    out = r.output.decode(errors="surrogateescape")
    return out[:-1] if out.endswith("\n") else out


Pipeline.run = _run
Pipeline.result = _result
