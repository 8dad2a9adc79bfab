// `fabric-exp completion bash|zsh|fish`: shell completion written from the command definitions
// themselves (every subcommand and option CLI11 knows), so it cannot drift from them.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "common/error.hpp"

namespace fabric::cli {

namespace {

struct Node {
  std::string path;  // "sweep show" ("" for the top)
  std::vector<std::string> commands, options;
  std::vector<std::pair<std::string, std::string>> described;  // name, help (fish)
};

void collect(CLI::App& app, const std::string& path, std::vector<Node>& out) {
  Node n;
  n.path = path;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    n.commands.push_back(sub->get_name());
    n.described.emplace_back(sub->get_name(), sub->get_description());
  }
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& l : opt->get_lnames()) n.options.push_back("--" + l);
  }
  out.push_back(n);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
}

std::string words(const std::vector<std::string>& a, const std::vector<std::string>& b = {}) {
  std::string s;
  for (const auto& w : a) s += (s.empty() ? "" : " ") + w;
  for (const auto& w : b) s += (s.empty() ? "" : " ") + w;
  return s;
}

std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string bash(const std::vector<Node>& nodes) {
  std::string s =
      "# fabric-exp completion for bash: eval \"$(fabric-exp completion bash)\"\n"
      "_fabric_exp() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i opts\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${COMP_WORDS[i]}\"\n"
      "    case \"${path:+$path }$w\" in\n";
  std::string known;
  for (const auto& n : nodes)
    if (!n.path.empty()) known += (known.empty() ? "" : "|") + single_quoted(n.path);
  s +=
      "      " + known + ") path=\"${path:+$path }$w\" ;;\n    esac\n  done\n  case \"$path\" in\n";
  for (const auto& n : nodes)
    s += "    " + single_quoted(n.path) + ") opts=" + single_quoted(words(n.commands, n.options)) +
         " ;;\n";
  s += "  esac\n"
       "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
       "  [[ \"$cur\" == -* ]] || COMPREPLY+=($(compgen -f -- \"$cur\"))\n"
       "}\n"
       "complete -o filenames -F _fabric_exp fabric-exp\n";
  return s;
}

std::string fish(const std::vector<Node>& nodes) {
  std::string s = "# fabric-exp completion for fish: fabric-exp completion fish | source\n";
  for (const auto& n : nodes) {
    // Top level: before any subcommand; deeper: after the path's last word.
    const std::string last = n.path.substr(n.path.rfind(' ') + 1);
    const std::string cond =
        n.path.empty() ? "__fish_use_subcommand" : "__fish_seen_subcommand_from " + last;
    for (const auto& [name, help] : n.described)
      s += "complete -c fabric-exp -f -n " + single_quoted(cond) + " -a " + name + " -d " +
           single_quoted(help) + "\n";
    for (const auto& o : n.options)
      s += "complete -c fabric-exp -n " + single_quoted(cond) + " -l " + o.substr(2) + "\n";
  }
  return s;
}

}  // namespace

void add_completion_command(CLI::App& app) {
  auto* sub = app.add_subcommand("completion", training_command_help("completion"));
  auto shell = std::make_shared<std::string>();
  sub->add_option("shell", *shell, "bash, zsh or fish")->required();
  register_action(sub, [&app, shell] {
    std::vector<Node> nodes;
    collect(app, "", nodes);
    if (*shell == "bash") {
      std::cout << bash(nodes);
    } else if (*shell == "zsh") {
      // zsh runs bash completion functions through bashcompinit.
      std::cout << "# fabric-exp completion for zsh: eval \"$(fabric-exp completion zsh)\"\n"
                   "autoload -U +X bashcompinit && bashcompinit\n"
                << bash(nodes);
    } else if (*shell == "fish") {
      std::cout << fish(nodes);
    } else {
      throw UsageError("completion: unknown shell '" + *shell + "' (bash, zsh or fish)");
    }
    return 0;
  });
}

}  // namespace fabric::cli
