"""Type hints of the execvm module (libexecvm for Python)."""
from typing import Dict, List, Mapping, Optional, Sequence, Union

_Arg = Union[str, bytes]

class PipelineError(RuntimeError):
    """A pipeline that cannot be read, built or started; one line naming what is wrong."""

class StageError(PipelineError):
    """A stage that failed: raised by Pipeline.run() for the last failing stage."""
    result: "Result"
    stage: int
    status: int
    stderr: bytes
    def __init__(self, result: "Result", stage: int) -> None: ...

class Chain:
    """Commands run one after the other, stopping at the first failure."""
    @property
    def commands(self) -> List[List[str]]: ...

class Runner:
    """Where commands run: "local", "vm", "container" or "void"."""
    @property
    def kind(self) -> str: ...
    def command(self, *args: Union[_Arg, Chain], env: Optional[Mapping[str, str]] = None,
                cwd: Optional[str] = None) -> "Pipeline": ...

class StageResult:
    command: str
    runner: str
    status: int
    error: str
    stderr: bytes

class Result:
    stages: List[StageResult]
    status: int
    interrupted: int
    output: bytes
    ok: bool

class Pipeline:
    """A source, stages and a sink, as data: a | b pipes, p > "file" writes the output."""
    def __or__(self, other: "Pipeline") -> "Pipeline": ...
    def __gt__(self, file: str) -> "Pipeline": ...  # type: ignore[override]
    def run(self, input: Optional[_Arg] = None, runner: Optional[Runner] = None,
            execvm: str = "") -> str:
        """The output as text without its trailing newline; StageError when a stage failed,
        KeyboardInterrupt after Ctrl-C."""
    def result(self, input: Optional[_Arg] = None, capture_output: bool = True,
               capture_stderr: bool = False, runner: Optional[Runner] = None,
               execvm: str = "") -> Result:
        """Every stage's status, the output as bytes."""
    def to_json(self) -> str: ...
    def to_seed_notation(self) -> str: ...
    def to_shell(self, runner: Optional[Runner] = None) -> str: ...
    @property
    def stage_count(self) -> int: ...

def exec_runner(chain_program: Sequence[str] = ...) -> Runner:
    """Each command fork/exec'd here, without a shell."""
def vm_runner(*, bare: bool = False, image: str = "", kernel: str = "", initrd: str = "",
              cpus: int = 0, memory: str = "", devices: Optional[Dict[str, str]] = None,
              execvm: str = "", **execvm_options: object) -> Runner:
    """Each command in its own execvm VM; other keywords are execvm's options (sudo=True)."""
def docker_runner(*, image: str, engine: str = "podman", options: Sequence[str] = ...,
                  chain_program: Sequence[str] = ...) -> Runner:
    """Each command in its own container: ENGINE run -i --rm OPTIONS IMAGE COMMAND.

    No network (--network none) unless OPTIONS choose one (--network=host).
    """
def void_runner(debug: bool = False) -> Runner:
    """Runs nothing: each command passes its input through (debug: prints it)."""
def command(*args: Union[_Arg, Chain], env: Optional[Mapping[str, str]] = None,
            cwd: Optional[str] = None) -> Pipeline:
    """A command bound to no runner (it runs with the run's, local by default)."""
def chain(*commands: Union[Sequence[str], Pipeline]) -> Chain: ...
def tar(*files: _Arg, compress: str = "none") -> Pipeline:
    """A tar archive of local files made in this process: gzip, zstd, xz or none."""
def file(name: str) -> Pipeline: ...
def build(tag: str, *, engine: str = "podman", file: str = "",
          options: Sequence[str] = ...) -> Pipeline:
    """A tar stream of a build context in, the image TAG out (its ID is the output)."""
def from_json(text: str) -> Pipeline: ...
