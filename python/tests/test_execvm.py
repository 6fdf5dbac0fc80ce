"""The Python module: the seed's usage as written, and the runs the C++ tests make, from Python.
The vm runner's tests boot VMs (EXECVM names the execvm to use); the container ones need
podman and busybox, and build their images from this host's files and execvm's static agent
(EXECVM_TEST_AGENT), which is `execvm chain` and `execvm init` in one static binary."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import execvm

AGENT = os.environ.get("EXECVM_TEST_AGENT", "")
# podman, as this project's machines need it (see the notes on containers).
PODMAN_OPTIONS = ["--runtime", "runc", "--ulimit", "nofile=20000:20000",
                  "--ulimit", "nproc=32768:32768"]


def test_the_seeds_echo_hello_into_wc():
    computer = execvm.exec_runner()
    block = computer.command("/bin/echo", "hello") | computer.command("/bin/wc", "-c")
    assert block.run() == "6"
    # The worked examples' unbound commands.
    assert (execvm.command("/bin/echo", "hello") | execvm.command("/bin/wc", "-c")).run() == "6"


def test_the_seeds_tar_in_python_writes_2_into_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file1").write_text("one")
    (tmp_path / "file2").write_text("two")
    computer = execvm.exec_runner()
    block = execvm.tar("file1", "file2", compress="gzip") \
        | computer.command("/bin/tar", "-tzf", "-") \
        | computer.command("wc", "-l") > "output"
    assert block.run() == ""
    assert (tmp_path / "output").read_text().strip() == "2"


def test_the_seeds_json_form():
    block = execvm.tar("file1", "file2", compress="gzip") \
        | execvm.command("/bin/tar", "-tzf", "-") \
        | execvm.command("wc", "-l") > "output"
    data = json.loads(block.to_json())
    assert data["Tar"]["files"] == ["file1", "file2"]
    assert data["Tar"]["compression"] == "gzip"
    assert data["Tar"]["output"]["Command"]["args"] == ["/bin/tar", "-tzf", "-"]
    assert data["Tar"]["output"]["Command"]["output"]["Command"]["output"] == \
        {"File": {"name": "output"}}
    assert execvm.from_json(block.to_json()) == block
    assert execvm.from_json(block.to_json()).to_json() == block.to_json()
    seed = block.to_seed_notation()
    assert seed.startswith('Tar{\n  "files": ["file1", "file2"],\n  "compression": "gzip",')
    assert execvm.from_json(seed) == block
    assert block.to_shell() == "tar -czf - file1 file2 | /bin/tar -tzf - | wc -l > output"


def test_a_malformed_pipeline_names_the_field():
    with pytest.raises(execvm.PipelineError, match=r"at \.Command\.args\[0\]: expected a string"):
        execvm.from_json('{"Command": {"args": [1]}}')


def test_the_void_runner_runs_nothing(tmp_path):
    nothing = execvm.void_runner(debug=True)
    made = tmp_path / "made"
    block = nothing.command("touch", str(made)) | nothing.command("wc", "-c")
    r = block.result(input="abc", capture_stderr=True)
    assert r.output == b"abc"
    assert r.stages[0].stderr == ("+ touch %s\n" % made).encode()
    assert not made.exists()


def test_a_failing_middle_stage():
    block = execvm.command("true") | execvm.command("sh", "-c", "echo bad >&2; exit 3") \
        | execvm.command("cat")
    r = block.result(capture_stderr=True)
    assert [s.status for s in r.stages] == [0, 3, 0]
    assert r.status == 3 and not r.ok
    with pytest.raises(execvm.StageError) as e:
        block.run()
    assert (e.value.stage, e.value.status, e.value.stderr) == (1, 3, b"bad\n")
    assert "stage 2" in str(e.value) and "bad" in str(e.value)


def test_yes_into_head_ends_at_once():
    r = (execvm.command("yes") | execvm.command("head", "-1")).result()
    assert r.output == b"y\n"
    assert [s.status for s in r.stages] == [128 + signal.SIGPIPE, 0]


def test_env_cwd_and_bytes():
    c = execvm.command("sh", "-c", 'echo "$EXECVM_TEST_A"; pwd', env={"EXECVM_TEST_A": "b c"},
                       cwd="/")
    assert c.run() == "b c\n/"
    assert execvm.command("printf", b"\xff").result().output == b"\xff"


def test_ctrl_c_stops_every_stage_and_raises_keyboardinterrupt():
    me = os.getpid()

    def children():
        found = []
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if pid.isdigit() and int(fields[1]) == me:
                found.append(int(pid))
        return found

    def interrupt():
        while len(children()) < 2:
            time.sleep(0.01)
        os.kill(me, signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        (execvm.command("sleep", "1000") | execvm.command("sleep", "1000")).run()
    assert children() == []


@pytest.mark.skipif(not AGENT, reason="EXECVM_TEST_AGENT is not set")
def test_chain_on_the_local_runner():
    computer = execvm.exec_runner(chain_program=[AGENT])
    assert computer.command(execvm.chain(["/bin/true"], ["/bin/echo", "x"])).run() == "x"
    with pytest.raises(execvm.StageError) as e:
        computer.command(execvm.chain(["/bin/false"], ["/bin/echo", "x"])).run()
    assert e.value.status == 1


@pytest.mark.skipif("EXECVM" not in os.environ, reason="EXECVM is not set")
def test_the_vm_runner():
    vm = execvm.vm_runner(bare=True, memory="256M")
    data = os.urandom(1 << 20)
    here = execvm.exec_runner()
    r = (here.command("cat") | vm.command("cat") | here.command("cat")).result(input=data)
    assert r.output == data
    assert [s.runner for s in r.stages] == ["local", "vm", "local"]


@pytest.mark.skipif(not (shutil.which("podman") and shutil.which("busybox") and AGENT),
                    reason="podman, busybox or execvm's agent is missing")
def test_the_seeds_docker_pipeline_with_a_locally_built_image(tmp_path, monkeypatch):
    tag = "localhost/execvm-python-test-%d" % os.getpid()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY execvm /bin/execvm\nENV PATH=/bin\n")
    shutil.copy(shutil.which("busybox"), ctx / "busybox")
    shutil.copy(AGENT, ctx / "execvm")
    monkeypatch.chdir(ctx)
    try:
        image_id = (execvm.tar("Containerfile", "busybox", "execvm", compress="gzip")
                    | execvm.build(tag, options=PODMAN_OPTIONS)).run()
        assert len(image_id) == 64
        computer = execvm.docker_runner(image=tag, engine="podman", options=PODMAN_OPTIONS)
        block = computer.command("/bin/busybox", "echo", "hello") \
            | computer.command("/bin/busybox", "wc", "-c")
        assert block.run() == "6"
        monkeypatch.chdir(tmp_path)
        (tmp_path / "file1").write_text("one")
        (tmp_path / "file2").write_text("two")
        block = execvm.tar("file1", "file2", compress="gzip") \
            | computer.command(execvm.chain(["/bin/busybox", "tar", "-xzf", "-"],
                                            ["/bin/busybox", "tar", "-cf", "-", "file2", "file1"])) \
            | computer.command("/bin/busybox", "tar", "-tf", "-") > "listing"
        block.run()
        assert (tmp_path / "listing").read_text() == "file2\nfile1\n"
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True)


@pytest.mark.skipif("EXECVM" not in os.environ, reason="EXECVM is not set")
def test_chain_with_execvms_own_chain_here_and_in_a_vm():
    block = execvm.command(execvm.chain(["/bin/true"], ["/bin/echo", "x"]))
    assert block.run() == "x"
    assert block.run(runner=execvm.vm_runner(bare=True)) == "x"
    with pytest.raises(execvm.StageError) as e:
        execvm.command(execvm.chain(["/bin/false"], ["/bin/echo", "x"])).run()
    assert e.value.status == 1


def _kernel():
    return subprocess.run([os.environ["EXECVM"], "kernel", "path"], capture_output=True,
                          text=True, check=True).stdout.strip()


def _busybox_rootfs(path):
    """A small root filesystem as a tar.gz, as alpine's minirootfs is: busybox and /bin/sh."""
    import tarfile
    with tarfile.open(path, "w:gz") as tar:
        for d in ["bin", "etc", "tmp"]:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add(shutil.which("busybox"), "bin/busybox")
        info = tarfile.TarInfo("bin/sh")
        info.type, info.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(info)


@pytest.mark.skipif("EXECVM" not in os.environ, reason="EXECVM is not set")
def test_the_vm_runner_with_the_seeds_kernel_and_initrd(tmp_path):
    """The seed's vm runner: a kernel and an initrd of one's own (here one from
    `execvm initramfs`), the command run in it."""
    initrd = tmp_path / "initrd.gz"
    subprocess.run([os.environ["EXECVM"], "initramfs", "--output", str(initrd), "busybox"],
                   check=True)
    vm = execvm.vm_runner(kernel=_kernel(), initrd=str(initrd))
    block = execvm.command("printf", "a\\nb\\n") | vm.command("busybox", "wc", "-l")
    assert block.run().strip() == "2"
    with pytest.raises(execvm.StageError) as e:
        vm.command("busybox", "sh", "-c", "exit 7").run()
    assert e.value.status == 7


@pytest.mark.skipif(not (shutil.which("podman") and shutil.which("busybox") and
                         shutil.which("bsdtar") and AGENT and "EXECVM" in os.environ),
                    reason="podman, busybox, bsdtar, execvm's agent or EXECVM is missing")
def test_the_seeds_building_pipeline_makes_an_initrd_that_boots(tmp_path, monkeypatch):
    """The seed's "Building": a minirootfs and a static execvm, tarred in Python, into a
    container that unpacks them and tars them again with execvm's chain, into another that
    writes a newc cpio; QEMU then boots the initrd with /execvm/execvm as init."""
    tag = "localhost/execvm-python-bsdtar-%d" % os.getpid()
    ctx = tmp_path / "ctx"
    # The image: bsdtar (where the seed has it) and its libraries, which `execvm initramfs`
    # gathers as --bare does, and execvm as /usr/bin/execvm.
    (ctx / "root").mkdir(parents=True)
    subprocess.run([os.environ["EXECVM"], "initramfs", "--compress", "none", "--output",
                    str(tmp_path / "bsdtar.cpio"), "bsdtar"], check=True)
    subprocess.run(["bsdtar", "-xf", str(tmp_path / "bsdtar.cpio"), "-C", str(ctx / "root")],
                   check=True)
    (ctx / "root/usr/sbin").mkdir(parents=True, exist_ok=True)
    os.rename(ctx / "root" / shutil.which("bsdtar").lstrip("/"), ctx / "root/usr/sbin/bsdtar")
    (ctx / "root/usr/bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(AGENT, ctx / "root/usr/bin/execvm")
    (ctx / "Containerfile").write_text(
        "FROM scratch\nCOPY root/ /\nENV PATH=/usr/sbin:/usr/bin\nWORKDIR /work\n")
    monkeypatch.chdir(ctx)
    try:
        (execvm.tar("Containerfile", "root") | execvm.build(tag, options=PODMAN_OPTIONS)).run()
        monkeypatch.chdir(tmp_path)
        (tmp_path / "execvm").mkdir()
        shutil.copy(AGENT, tmp_path / "execvm/execvm")
        (tmp_path / "alpine-iso").mkdir()
        rootfs = "alpine-iso/alpine-minirootfs-3.12.1-x86_64.tar.gz"
        _busybox_rootfs(tmp_path / rootfs)

        # (The seed names execvm/execvm; the directory is named here, so that the archive has
        # its entry: the kernel's initramfs unpacker makes no parent directories.)
        computer = execvm.docker_runner(image=tag, options=PODMAN_OPTIONS)
        block = execvm.tar("execvm", rootfs, compress="gzip") \
            | computer.command(execvm.chain(
                ["/usr/sbin/bsdtar", "-xzf", "-"],
                ["/usr/sbin/bsdtar", "-czf", "-", "execvm", "@" + rootfs])) \
            | computer.command("bsdtar", "--format=newc", "-czf", "-", "@-") > "initrd.gz"
        result = block.result()
        assert [s.status for s in result.stages] == [0, 0, 0]
        listing = subprocess.run(["bsdtar", "-tvzf", "initrd.gz"], capture_output=True,
                                 text=True, check=True).stdout
        assert "execvm/execvm" in listing and "bin/busybox" in listing

        console = subprocess.run(
            ["timeout", "120", "qemu-system-x86_64", "-machine", "microvm,acpi=off",
             "-nographic", "-no-reboot", "-kernel", _kernel(), "-initrd", "initrd.gz",
             "-append", "console=ttyS0 panic=-1 rdinit=/execvm/execvm -- init /bin/sh -c 'echo hi'"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
        lines = console.stdout.replace("\r", "").splitlines()
        assert console.returncode == 0, lines[-20:]
        assert "hi" in lines, lines[-20:]
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True)
