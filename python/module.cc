// execvm._execvm: libexecvm for Python (pybind11). Everything a user writes is a Pipeline (a
// command alone is one of a single stage), so that | and > need only one type; python/execvm/
// adds run(), the exceptions and the names of the seed.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <signal.h>

#include "execvm/execvm.h"

namespace py = pybind11;
namespace ep = execvm::pipeline;

namespace {

ep::Compression compression_of(const std::string& name) {
  if (name == "gzip" || name == "gz") return ep::Compression::kGzip;
  if (name == "zstd") return ep::Compression::kZstd;
  if (name == "xz") return ep::Compression::kXz;
  if (name == "none" || name.empty()) return ep::Compression::kNone;
  throw ep::PipelineError("unknown compression \"" + name + "\" (known: gzip, zstd, xz, none)");
}

// An argv from Python: strings, or bytes taken as they are.
std::vector<std::string> argv_of(const py::args& args) {
  std::vector<std::string> out;
  for (const py::handle& a : args) {
    if (py::isinstance<py::bytes>(a)) {
      out.push_back(a.cast<std::string>());
    } else if (py::isinstance<py::str>(a)) {
      out.push_back(a.cast<std::string>());
    } else {
      throw py::type_error("a command's arguments are strings, not " +
                           std::string(py::str(a.get_type().attr("__name__"))));
    }
  }
  return out;
}

// command(*args, env=None, cwd=None) for RUNNER (none: unbound). A single Chain argument is
// the command's chain.
ep::Pipeline make_command(const std::optional<ep::Runner>& runner, const py::args& args,
                          const std::optional<std::map<std::string, std::string>>& env,
                          const std::optional<std::string>& cwd) {
  ep::Command c;
  if (args.size() == 1 && py::isinstance<ep::Chain>(args[0])) {
    c.chain = args[0].cast<ep::Chain>();
  } else {
    c.args = argv_of(args);
    if (c.args.empty()) throw ep::PipelineError("a command needs at least the program to run");
  }
  if (env) c.env = *env;
  if (cwd) c.cwd = *cwd;
  c.runner = runner;
  return ep::Pipeline(std::move(c));
}

}  // namespace

PYBIND11_MODULE(_execvm, m) {
  m.doc() = "libexecvm: commands and pipelines as data, and the runners that run them";
  py::register_exception<ep::PipelineError>(m, "PipelineError", PyExc_RuntimeError);

  py::class_<ep::Chain>(m, "Chain", "Commands run one after the other, stopping at a failure")
      .def_readonly("commands", &ep::Chain::commands)
      .def("__eq__", [](const ep::Chain& a, const ep::Chain& b) { return a == b; })
      .def("__repr__", [](const ep::Chain& c) {
        return "chain(" + std::to_string(c.commands.size()) + " commands)";
      });

  py::class_<ep::Runner>(m, "Runner", "Where commands run: local, vm, container or void")
      .def_property_readonly("kind", &ep::Runner::kind)
      .def(
          "command",
          [](const ep::Runner& r, const py::args& args,
             std::optional<std::map<std::string, std::string>> env,
             std::optional<std::string> cwd) { return make_command(r, args, env, cwd); },
          py::kw_only(), py::arg("env") = py::none(), py::arg("cwd") = py::none(),
          "A command bound to this runner: runner.command('/bin/echo', 'hello')")
      .def("__eq__", [](const ep::Runner& a, const ep::Runner& b) { return a == b; })
      .def("__repr__", [](const ep::Runner& r) { return "<execvm " + r.kind() + " runner>"; });

  m.def(
      "exec_runner",
      [](std::vector<std::string> chain_program) {
        return ep::local_runner({std::move(chain_program)});
      },
      py::arg("chain_program") = std::vector<std::string>{},
      "The local runner: each command fork/exec'd here, without a shell");
  m.def(
      "_vm_runner",
      [](bool bare, std::string image, std::string kernel, std::string initrd, unsigned cpus,
         std::string memory, std::map<std::string, std::string> devices,
         std::vector<std::string> args, std::string execvm) {
        ep::VmOptions o;
        o.bare = bare;
        o.image = std::move(image);
        o.kernel = std::move(kernel);
        o.initrd = std::move(initrd);
        o.cpus = cpus;
        o.memory = std::move(memory);
        o.devices = std::move(devices);
        o.args = std::move(args);
        o.execvm = std::move(execvm);
        return ep::vm_runner(std::move(o));
      },
      py::arg("bare"), py::arg("image"), py::arg("kernel"), py::arg("initrd"), py::arg("cpus"),
      py::arg("memory"), py::arg("devices"), py::arg("args"), py::arg("execvm"));
  m.def(
      "docker_runner",
      [](std::string image, std::string engine, std::vector<std::string> options,
         std::vector<std::string> chain_program) {
        return ep::container_runner(
            {std::move(image), std::move(engine), std::move(options), std::move(chain_program)});
      },
      py::kw_only(), py::arg("image"), py::arg("engine") = "podman",
      py::arg("options") = std::vector<std::string>{},
      py::arg("chain_program") = std::vector<std::string>{"execvm"},
      "The container runner: each command in its own `ENGINE run -i --rm OPTIONS IMAGE`, "
      "with --network none unless OPTIONS choose a network");
  m.def(
      "void_runner", [](bool debug) { return ep::void_runner(debug); }, py::arg("debug") = false,
      "The void runner: runs nothing, each command passes its input through (debug: print it)");

  m.def(
      "command",
      [](const py::args& args, std::optional<std::map<std::string, std::string>> env,
         std::optional<std::string> cwd) { return make_command(std::nullopt, args, env, cwd); },
      py::kw_only(), py::arg("env") = py::none(), py::arg("cwd") = py::none(),
      "A command bound to no runner: it runs with the run's runner (local by default)");
  m.def(
      "_chain",
      [](std::vector<std::vector<std::string>> commands) { return ep::Chain{std::move(commands)}; },
      py::arg("commands"));
  m.def(
      "tar",
      [](const py::args& files, const std::string& compress) {
        return ep::Pipeline(ep::Tar{argv_of(files), compression_of(compress)});
      },
      py::kw_only(), py::arg("compress") = "none",
      "A tar archive of local files, made in this process (gzip, zstd, xz or none)");
  m.def(
      "file", [](std::string name) { return ep::Pipeline(ep::File{std::move(name)}); },
      py::arg("name"), "A file: as the first part the input, as the last where the output goes");
  m.def(
      "build",
      [](std::string tag, std::string engine, std::string file, std::vector<std::string> options) {
        return ep::Pipeline(
            ep::Build{std::move(tag), std::move(engine), std::move(file), std::move(options)});
      },
      py::arg("tag"), py::kw_only(), py::arg("engine") = "podman", py::arg("file") = "",
      py::arg("options") = std::vector<std::string>{},
      "A tar stream of a build context in, an image named TAG out (its ID is the output)");
  m.def(
      "from_json", [](const std::string& text) { return ep::from_json(text); }, py::arg("text"),
      "A pipeline from its JSON form (or the seed's notation)");

  py::class_<ep::StageResult>(m, "StageResult", "One stage of a finished run")
      .def_readonly("command", &ep::StageResult::command)
      .def_readonly("runner", &ep::StageResult::runner)
      .def_readonly("status", &ep::StageResult::status)
      .def_readonly("error", &ep::StageResult::error)
      .def_property_readonly("stderr",
                             [](const ep::StageResult& s) { return py::bytes(s.stderr_output); })
      .def("__repr__", [](const ep::StageResult& s) {
        return "<stage " + s.runner + ": " + s.command + ": " + std::to_string(s.status) + ">";
      });

  py::class_<ep::Result>(m, "Result", "A finished run: every stage's status, the output")
      .def_readonly("stages", &ep::Result::stages)
      .def_readonly("status", &ep::Result::status)
      .def_readonly("interrupted", &ep::Result::interrupted)
      .def_property_readonly("output", [](const ep::Result& r) { return py::bytes(r.output); })
      .def_property_readonly("ok", &ep::Result::ok)
      .def("__repr__", [](const ep::Result& r) {
        return "<execvm result: status " + std::to_string(r.status) + ", " +
               std::to_string(r.stages.size()) + " stages>";
      });

  py::class_<ep::Pipeline>(m, "Pipeline", "A source, stages and a sink, as data")
      .def("__or__", [](const ep::Pipeline& a, const ep::Pipeline& b) { return a | b; })
      .def("__gt__", [](const ep::Pipeline& a, const std::string& file) { return a > file; })
      .def("__eq__", [](const ep::Pipeline& a, const ep::Pipeline& b) { return a == b; })
      .def("to_json", [](const ep::Pipeline& p) { return ep::to_json(p); })
      .def("to_seed_notation", [](const ep::Pipeline& p) { return ep::to_seed_notation(p); })
      .def(
          "to_shell",
          [](const ep::Pipeline& p, std::optional<ep::Runner> runner) {
            return ep::to_shell(p, runner.value_or(ep::Runner()));
          },
          py::arg("runner") = py::none())
      .def(
          "_result",
          [](const ep::Pipeline& p, std::optional<py::bytes> input, bool capture_output,
             bool capture_stderr, std::optional<ep::Runner> runner, std::string execvm) {
            ep::RunOptions o;
            if (input) o.input = std::string(*input);
            o.capture_output = capture_output;
            o.capture_stderr = capture_stderr;
            o.runner = runner;
            o.execvm = std::move(execvm);
            ep::Result r;
            {
              py::gil_scoped_release release;
              r = p.run(o);
            }
            if (r.interrupted == SIGINT) {
              PyErr_SetNone(PyExc_KeyboardInterrupt);
              throw py::error_already_set();
            }
            return r;
          },
          py::kw_only(), py::arg("input") = py::none(), py::arg("capture_output") = true,
          py::arg("capture_stderr") = false, py::arg("runner") = py::none(), py::arg("execvm") = "",
          "Runs it to the end and returns the Result (KeyboardInterrupt after a SIGINT)")
      .def_property_readonly("stage_count", [](const ep::Pipeline& p) { return p.stages.size(); })
      .def("__repr__",
           [](const ep::Pipeline& p) { return "<execvm pipeline: " + ep::to_shell(p) + ">"; });
}
