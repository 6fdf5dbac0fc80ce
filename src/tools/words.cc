#include "tools/words.h"

namespace execvm::tools {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size() && is_space(s[pos])) ++pos;
  return pos;
}

// One word as the kernel's next_arg() reads it from S at POS (a non-blank), which it moves past
// the word and the blanks after it.
struct Arg {
  std::string param;
  std::optional<std::string> value;
  // As the kernel hands it on (repair_env_string): "param" or "param=value".
  std::string text() const { return value ? param + "=" + *value : param; }
};

Arg next_arg(std::string_view s, size_t& pos) {
  size_t start = pos;
  bool in_quote = false, quoted = false;
  if (s[start] == '"') {
    ++start;
    in_quote = quoted = true;
  }
  size_t i = 0, equals = 0;
  for (; start + i < s.size(); ++i) {
    char c = s[start + i];
    if (is_space(c) && !in_quote) break;
    if (equals == 0 && c == '=') equals = i;
    if (c == '"') in_quote = !in_quote;
  }
  // The kernel ends strings by writing NULs into the word: the same cuts, on a copy.
  std::string word(s.substr(start, i));
  size_t value_start = std::string::npos;
  if (equals != 0) {
    word[equals] = '\0';
    value_start = equals + 1;
    if (value_start < word.size() && word[value_start] == '"') {
      ++value_start;
      if (word[i - 1] == '"') word[i - 1] = '\0';
    }
  }
  if (quoted && i > 0 && word[i - 1] == '"') word[i - 1] = '\0';
  pos = skip_spaces(s, start + i + (start + i < s.size() ? 1 : 0));
  auto cut = [&](size_t from, size_t to) {
    std::string part = word.substr(from, to - from);
    return part.substr(0, part.find('\0'));
  };
  Arg arg;
  if (equals == 0) {
    arg.param = cut(0, word.size());
  } else {
    arg.param = cut(0, equals);
    arg.value = value_start <= word.size() ? cut(value_start, word.size()) : "";
  }
  return arg;
}

}  // namespace

KernelCommandLine split_kernel_command_line(std::string_view cmdline) {
  KernelCommandLine out;
  for (size_t pos = skip_spaces(cmdline, 0); pos < cmdline.size();) {
    Arg arg = next_arg(cmdline, pos);
    if (!arg.value && arg.param == "--") {
      out.init_text = std::string(cmdline.substr(pos));
      break;
    }
    out.params.push_back(arg.text());
  }
  return out;
}

std::optional<std::string> kernel_parameter(std::string_view cmdline, std::string_view name) {
  std::optional<std::string> found;
  std::string prefix = std::string(name) + "=";
  for (const std::string& p : split_kernel_command_line(cmdline).params)
    if (p.starts_with(prefix)) found = p.substr(prefix.size());
  return found;
}

std::vector<std::string> kernel_init_args(std::string_view text) {
  std::vector<std::string> out;
  for (size_t pos = skip_spaces(text, 0); pos < text.size();) {
    Arg arg = next_arg(text, pos);
    if (!arg.value && arg.param == "--") break;
    out.push_back(arg.text());
  }
  return out;
}

std::optional<std::vector<std::string>> shell_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    bool was_in_word = in_word;
    in_word = true;
    if (c == '\'') {
      size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      word += text.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) return std::nullopt;
        if (text[i] == '"') break;
        if (text[i] == '\\' && i + 1 < text.size() &&
            std::string_view("$`\"\\\n").find(text[i + 1]) != std::string_view::npos) {
          if (text[++i] != '\n') word += text[i];
          continue;
        }
        word += text[i];
      }
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      if (text[++i] == '\n') {
        // A line continuation, not a character: the word goes on (or has not started).
        in_word = was_in_word;
        continue;
      }
      word += text[i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace execvm::tools
