// The JSON form of pipelines (see execvm/pipeline.h), and the seed's own notation: a node is
// written Type{...} there, which is read here as {"Type": {...}}.
#include <cctype>
#include <nlohmann/json.hpp>

#include "execvm/pipeline.h"

namespace execvm::pipeline {

namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw PipelineError("at " + (path.empty() ? std::string(".") : path) + ": " + what);
}

std::string type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::binary:
      return "binary data";
    case Json::value_t::discarded:
      return "nothing";
    default:
      return "a number";
  }
}

// Refuses any key of OBJECT (at PATH) that is not in KNOWN.
void only_keys(const Json& object, const std::string& path,
               std::initializer_list<const char*> known) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      bad(path + "." + key, "unknown field (known: " + list + ")");
    }
  }
}

const Json& object_at(const Json& j, const std::string& path) {
  if (!j.is_object()) bad(path, "expected an object, not " + type_name(j));
  return j;
}

std::string string_at(const Json& j, const std::string& path, bool non_empty = false) {
  if (!j.is_string()) bad(path, "expected a string, not " + type_name(j));
  std::string s = j.get<std::string>();
  if (non_empty && s.empty()) bad(path, "expected a non-empty string");
  return s;
}

bool bool_at(const Json& j, const std::string& path) {
  if (!j.is_boolean()) bad(path, "expected true or false, not " + type_name(j));
  return j.get<bool>();
}

std::vector<std::string> strings_at(const Json& j, const std::string& path) {
  if (!j.is_array()) bad(path, "expected an array of strings, not " + type_name(j));
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(string_at(j[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

std::map<std::string, std::string> string_map_at(const Json& j, const std::string& path) {
  if (!j.is_object()) bad(path, "expected an object of strings, not " + type_name(j));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) out[key] = string_at(value, path + "." + key);
  return out;
}

// The single key of a tagged object {"Type": {...}} (at PATH), one of NAMES.
std::string tag_of(const Json& j, const std::string& path, std::initializer_list<const char*> names,
                   const char* what) {
  std::string list;
  for (const char* n : names) list += std::string(list.empty() ? "" : ", ") + n;
  if (!j.is_object() || j.size() != 1)
    bad(path, std::string("expected ") + what + ": an object with one key, " + list);
  const std::string& key = j.begin().key();
  for (const char* n : names)
    if (key == n) return key;
  bad(path + "." + key, std::string("unknown ") + what + " (known: " + list + ")");
}

Compression compression_from(const std::string& text, const std::string& path) {
  if (text == "none") return Compression::kNone;
  if (text == "gzip") return Compression::kGzip;
  if (text == "zstd") return Compression::kZstd;
  if (text == "xz") return Compression::kXz;
  bad(path, "unknown compression \"" + text + "\" (known: gzip, zstd, xz, none)");
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kXz:
      return "xz";
    case Compression::kNone:
      break;
  }
  return "none";
}

Runner read_runner(const Json& j, const std::string& path) {
  std::string kind = tag_of(j, path, {"local", "vm", "container", "void"}, "runner");
  std::string p = path + "." + kind;
  const Json& o = object_at(j.begin().value(), p);
  if (kind == "local") {
    only_keys(o, p, {"chain_program"});
    LocalOptions l;
    if (o.contains("chain_program"))
      l.chain_program = strings_at(o["chain_program"], p + ".chain_program");
    return Runner(l);
  }
  if (kind == "vm") {
    only_keys(o, p,
              {"bare", "image", "kernel", "initrd", "cpus", "memory", "devices", "args", "execvm"});
    VmOptions v;
    if (o.contains("bare")) v.bare = bool_at(o["bare"], p + ".bare");
    if (o.contains("image")) v.image = string_at(o["image"], p + ".image", true);
    if (o.contains("kernel")) v.kernel = string_at(o["kernel"], p + ".kernel", true);
    if (o.contains("initrd")) v.initrd = string_at(o["initrd"], p + ".initrd", true);
    if (o.contains("cpus")) {
      const Json& c = o["cpus"];
      if (!c.is_number_unsigned() || c.get<uint64_t>() < 1 || c.get<uint64_t>() > 64)
        bad(p + ".cpus", "expected a number of CPUs from 1 to 64");
      v.cpus = c.get<unsigned>();
    }
    if (o.contains("memory")) v.memory = string_at(o["memory"], p + ".memory", true);
    if (o.contains("devices")) v.devices = string_map_at(o["devices"], p + ".devices");
    if (o.contains("args")) v.args = strings_at(o["args"], p + ".args");
    if (o.contains("execvm")) v.execvm = string_at(o["execvm"], p + ".execvm", true);
    return Runner(v);
  }
  if (kind == "container") {
    only_keys(o, p, {"image", "engine", "options", "chain_program"});
    ContainerOptions c;
    if (!o.contains("image")) bad(p + ".image", "missing: the image every container runs");
    c.image = string_at(o["image"], p + ".image", true);
    if (o.contains("engine")) c.engine = string_at(o["engine"], p + ".engine", true);
    if (o.contains("options")) c.options = strings_at(o["options"], p + ".options");
    if (o.contains("chain_program"))
      c.chain_program = strings_at(o["chain_program"], p + ".chain_program");
    return Runner(c);
  }
  only_keys(o, p, {"debug"});
  VoidOptions v;
  if (o.contains("debug")) v.debug = bool_at(o["debug"], p + ".debug");
  return Runner(v);
}

Json write_runner(const Runner& runner) {
  Json o = Json::object();
  if (const auto* l = std::get_if<LocalOptions>(&runner.options())) {
    if (!l->chain_program.empty()) o["chain_program"] = l->chain_program;
  } else if (const auto* v = std::get_if<VmOptions>(&runner.options())) {
    if (v->bare) o["bare"] = true;
    if (!v->image.empty()) o["image"] = v->image;
    if (!v->kernel.empty()) o["kernel"] = v->kernel;
    if (!v->initrd.empty()) o["initrd"] = v->initrd;
    if (v->cpus) o["cpus"] = v->cpus;
    if (!v->memory.empty()) o["memory"] = v->memory;
    if (!v->devices.empty()) o["devices"] = v->devices;
    if (!v->args.empty()) o["args"] = v->args;
    if (!v->execvm.empty()) o["execvm"] = v->execvm;
  } else if (const auto* c = std::get_if<ContainerOptions>(&runner.options())) {
    o["image"] = c->image;
    o["engine"] = c->engine;
    if (!c->options.empty()) o["options"] = c->options;
    if (c->chain_program != ContainerOptions().chain_program) o["chain_program"] = c->chain_program;
  } else {
    o["debug"] = std::get<VoidOptions>(runner.options()).debug;
  }
  Json j = Json::object();
  j[runner.kind()] = o;
  return j;
}

// Reads the node J at PATH and what follows it into PIPELINE. FIRST: J is the top node.
void read_node(const Json& j, const std::string& path, bool first, Pipeline& pipeline) {
  std::string type = tag_of(j, path, {"Command", "Tar", "File", "Build"}, "node");
  std::string p = path + "." + type;
  const Json& o = object_at(j.begin().value(), p);
  if (type == "Command") {
    only_keys(o, p, {"args", "chain", "env", "cwd", "runner", "output"});
    Command c;
    if (o.contains("args") == o.contains("chain"))
      bad(p, "a Command has \"args\" (its argv) or \"chain\" (a list of argvs), one of them");
    if (o.contains("args")) {
      c.args = strings_at(o["args"], p + ".args");
      if (c.args.empty()) bad(p + ".args", "expected at least the program to run");
    } else {
      const Json& list = o["chain"];
      if (!list.is_array() || list.empty())
        bad(p + ".chain", "expected a non-empty array of argvs (arrays of strings)");
      Chain chain;
      for (size_t i = 0; i < list.size(); ++i) {
        std::string q = p + ".chain[" + std::to_string(i) + "]";
        chain.commands.push_back(strings_at(list[i], q));
        if (chain.commands.back().empty()) bad(q, "expected at least the program to run");
      }
      c.chain = std::move(chain);
    }
    if (o.contains("env")) c.env = string_map_at(o["env"], p + ".env");
    if (o.contains("cwd")) c.cwd = string_at(o["cwd"], p + ".cwd", true);
    if (o.contains("runner")) c.runner = read_runner(o["runner"], p + ".runner");
    pipeline.stages.push_back(std::move(c));
  } else if (type == "Build") {
    only_keys(o, p, {"tag", "engine", "file", "options", "output"});
    Build b;
    if (!o.contains("tag")) bad(p + ".tag", "missing: the image's name");
    b.tag = string_at(o["tag"], p + ".tag", true);
    if (o.contains("engine")) b.engine = string_at(o["engine"], p + ".engine", true);
    if (o.contains("file")) b.file = string_at(o["file"], p + ".file", true);
    if (o.contains("options")) b.options = strings_at(o["options"], p + ".options");
    pipeline.stages.push_back(std::move(b));
  } else if (type == "Tar") {
    only_keys(o, p, {"files", "compression", "output"});
    if (!first) bad(path, "a Tar is a source: it can only be the first node");
    Tar t;
    if (!o.contains("files")) bad(p + ".files", "missing: the files to put in the archive");
    t.files = strings_at(o["files"], p + ".files");
    if (t.files.empty()) bad(p + ".files", "expected at least one file");
    if (o.contains("compression"))
      t.compression =
          compression_from(string_at(o["compression"], p + ".compression"), p + ".compression");
    pipeline.source = std::move(t);
  } else {
    only_keys(o, p, {"name", "output"});
    if (!o.contains("name")) bad(p + ".name", "missing: the file's name");
    File f{string_at(o["name"], p + ".name", true)};
    if (first) {
      pipeline.source = std::move(f);
    } else {
      if (o.contains("output")) bad(p + ".output", "a File written to is the end of a pipeline");
      pipeline.sink = std::move(f);
      return;
    }
  }
  if (o.contains("output")) read_node(o["output"], p + ".output", false, pipeline);
}

Json tagged(const char* type, Json body) {
  Json j = Json::object();
  j[type] = std::move(body);
  return j;
}

// The node at position I of PIPELINE's nodes (its source, stages and sink in order).
Json write_from(const Pipeline& pipeline, size_t i) {
  size_t n = (pipeline.source ? 1 : 0) + pipeline.stages.size() + (pipeline.sink ? 1 : 0);
  Json body = Json::object();
  const char* type = "File";
  size_t stage = i - (pipeline.source ? 1 : 0);
  if (i == 0 && pipeline.source) {
    if (const Tar* t = std::get_if<Tar>(&*pipeline.source)) {
      type = "Tar";
      body["files"] = t->files;
      body["compression"] = compression_name(t->compression);
    } else {
      body["name"] = std::get<File>(*pipeline.source).name;
    }
  } else if (stage < pipeline.stages.size()) {
    if (const Command* c = std::get_if<Command>(&pipeline.stages[stage])) {
      type = "Command";
      if (c->chain)
        body["chain"] = c->chain->commands;
      else
        body["args"] = c->args;
      body["env"] = Json::object();
      for (const auto& [k, v] : c->env) body["env"][k] = v;
      if (!c->cwd.empty()) body["cwd"] = c->cwd;
      if (c->runner) body["runner"] = write_runner(*c->runner);
    } else {
      const Build& b = std::get<Build>(pipeline.stages[stage]);
      type = "Build";
      body["tag"] = b.tag;
      if (b.engine != "podman") body["engine"] = b.engine;
      if (!b.file.empty()) body["file"] = b.file;
      if (!b.options.empty()) body["options"] = b.options;
    }
  } else {
    body["name"] = pipeline.sink->name;
  }
  if (i + 1 < n) body["output"] = write_from(pipeline, i + 1);
  return tagged(type, std::move(body));
}

Json write_pipeline(const Pipeline& pipeline) {
  if (!pipeline.source && pipeline.stages.empty())
    throw PipelineError("an empty pipeline has no JSON form");
  return write_from(pipeline, 0);
}

// The seed's notation turned into JSON: an identifier right before "{" (outside strings) opens
// {"Identifier": { and its brace closes with }}. ORIGIN maps each byte of the result to the
// byte of TEXT it came from, for messages.
std::string from_seed_notation(std::string_view text, std::vector<size_t>& origin) {
  std::string out;
  std::vector<bool> typed;  // for each open brace: whether it closes two
  bool in_string = false;
  auto put = [&](std::string_view s, size_t from) {
    out += s;
    origin.insert(origin.end(), s.size(), from);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_string) {
      put(std::string_view(&text[i], 1), i);
      if (ch == '\\' && i + 1 < text.size()) {
        ++i;
        put(std::string_view(&text[i], 1), i);
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(ch))) {
      size_t end = i;
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
        ++end;
      size_t brace = end;
      while (brace < text.size() && std::isspace(static_cast<unsigned char>(text[brace]))) ++brace;
      if (brace < text.size() && text[brace] == '{') {
        put("{\"" + std::string(text.substr(i, end - i)) + "\": {", i);
        typed.push_back(true);
        i = brace;
        continue;
      }
      put(text.substr(i, end - i), i);  // true, false, null, or an error for the parser
      i = end - 1;
      continue;
    }
    if (ch == '"') in_string = true;
    if (ch == '{') typed.push_back(false);
    if (ch == '}' && !typed.empty()) {
      bool two = typed.back();
      typed.pop_back();
      put(two ? "}}" : "}", i);
      continue;
    }
    put(std::string_view(&text[i], 1), i);
  }
  return out;
}

// "line L, column C" of byte OFFSET of TEXT.
std::string where(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// A plain JSON value on one line, as the seed writes arrays: ["a", "b"], {"K": "v"}.
std::string inline_json(const Json& j) {
  if (j.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + inline_json(j[i]);
    return out + "]";
  }
  if (j.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      out += (first ? "" : ", ") + Json(k).dump() + ": " + inline_json(v);
      first = false;
    }
    return out + "}";
  }
  return j.dump();
}

void seed_node(const Json& node, const std::string& indent, std::string& out) {
  const std::string& type = node.begin().key();
  const Json& body = node.begin().value();
  out += type + "{\n";
  bool first = true;
  for (const auto& [key, value] : body.items()) {
    out += (first ? "" : ",\n") + indent + "  " + Json(key).dump() + ": ";
    first = false;
    if (key == "output") {
      seed_node(value, indent + "  ", out);
    } else {
      out += inline_json(value);
    }
  }
  out += "\n" + indent + "}";
}

}  // namespace

std::string to_json(const Pipeline& pipeline) {
  try {
    return write_pipeline(pipeline).dump(2) + "\n";
  } catch (const Json::type_error& e) {
    throw PipelineError(std::string("the pipeline has no JSON form: ") + e.what());
  }
}

std::string to_seed_notation(const Pipeline& pipeline) {
  std::string out;
  try {
    seed_node(write_pipeline(pipeline), "", out);
  } catch (const Json::type_error& e) {
    throw PipelineError(std::string("the pipeline has no JSON form: ") + e.what());
  }
  return out + "\n";
}

Pipeline from_json(std::string_view text) {
  std::vector<size_t> origin;
  std::string json = from_seed_notation(text, origin);
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::parse_error& e) {
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    size_t from = at < origin.size() ? origin[at] : text.size();
    std::string what = e.what();
    // nlohmann's message ends with what it found; its byte counts are of the translation.
    size_t colon = what.find(": syntax error");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    throw PipelineError("not a pipeline: at " + where(text, from) + ": " + what);
  }
  Pipeline p;
  read_node(j, "", true, p);
  if (!p.source && p.stages.empty()) bad("", "a pipeline needs a source or a command");
  return p;
}

}  // namespace execvm::pipeline
