// The READMEs' commands, as written: every `fabric-exp` command of their code blocks runs, in
// order, in one scratch folder (training shortened with run.max_steps), and its exit status and
// the output the README shows are checked. The READMEs are read in the order the entry page links
// them. A README that promises what the tool does not do fails, and so does a link that leads
// nowhere.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "e2e/run_helpers.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::q;
using e2e::query;
using test_support::TempDir;

namespace {

const fs::path kSource = FABRIC_SOURCE_DIR;

struct ReadmeCommand {
  std::string file;      // the README, relative to the source folder
  std::string line;      // as written, without "$ " and the trailing comment
  std::string expected;  // the output the README shows after it ("" when none)
  int source_line = 0;
  bool prompted = false;  // written as "$ fabric-exp ...", with its output after it
  bool shell = false;     // in a ```sh block
};

/// Everything after two spaces and a '#' outside quotes is a comment.
std::string without_comment(const std::string& line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && i >= 2 && line.compare(i - 2, 2, "  ") == 0) {
      return line.substr(0, line.find_last_not_of(' ', i - 1) + 1);
    }
  }
  return line;
}

std::string trimmed_left(const std::string& line) {
  const size_t at = line.find_first_not_of(' ');
  return at == std::string::npos ? "" : line.substr(at);
}

/// The relative links of a Markdown file, in order: (target, line), code blocks skipped.
std::vector<std::pair<std::string, int>> links_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::pair<std::string, int>> out;
  const std::regex link(R"(\]\(([^()\s]+)\))");
  bool in_block = false;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (trimmed_left(line).rfind("```", 0) == 0) in_block = !in_block;
    if (in_block) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), link), end; it != end; ++it) {
      const std::string target = (*it)[1];
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) continue;
      out.emplace_back(target, number);
    }
  }
  return out;
}

/// README.md, then every README it links, in the order of its links, then theirs.
std::vector<std::string> readme_files() {
  std::vector<std::string> order{"README.md"};
  std::set<std::string> seen(order.begin(), order.end());
  for (size_t i = 0; i < order.size(); ++i) {
    const fs::path folder = fs::path(order[i]).parent_path();
    for (const auto& [target, line] : links_of(kSource / order[i])) {
      const std::string path = target.substr(0, target.find('#'));
      if (fs::path(path).filename() != "README.md") continue;
      const std::string file = (folder / path).lexically_normal().string();
      if (seen.insert(file).second) order.push_back(file);
    }
  }
  return order;
}

/// Every README.md of the source tree (not in build folders, .deps, runs or hidden folders).
std::set<std::string> readmes_in_tree() {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(kSource);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name[0] == '.' || name.rfind("build", 0) == 0 || name == "runs" ||
                               name == "subprojects")) {
      it.disable_recursion_pending();
      continue;
    }
    if (name == "README.md") out.insert(fs::relative(it->path(), kSource).string());
  }
  return out;
}

std::vector<ReadmeCommand> readme_commands(const std::string& file) {
  std::ifstream in(kSource / file);
  std::vector<ReadmeCommand> out;
  bool in_block = false, continued = false, shell = false;
  int number = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++number;
    // A block may be indented under a list item; its lines are read without that indentation.
    const std::string line = trimmed_left(raw);
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block;
      shell = in_block && (line == "```sh" || line == "```bash");
      continued = false;
      continue;
    }
    if (!in_block) continue;
    if (continued) {
      out.back().line.append(" ").append(without_comment(line));
      continued = !out.back().line.empty() && out.back().line.back() == '\\';
      if (continued) out.back().line.pop_back();
      continue;
    }
    const bool prompt = line.rfind("$ ", 0) == 0;
    const std::string text = prompt ? line.substr(2) : line;
    if (text.rfind("fabric-exp ", 0) == 0 || (shell && !text.empty() && text[0] != '#')) {
      out.push_back({file, without_comment(text), "", number, prompt, shell});
      continued = out.back().line.back() == '\\';
      if (continued) out.back().line.pop_back();
    } else if (!out.empty() && !prompt && out.back().prompted &&
               number - out.back().source_line <= 3 && !line.empty() &&
               out.back().expected.empty()) {
      out.back().expected = line;  // the first line of output the README shows
    }
  }
  return out;
}

/// The commands of the READMEs that this test does not run, and who does.
std::string run_elsewhere(const std::string& line) {
  static const std::vector<std::pair<std::string, std::string>> known = {
      {"tools/bootstrap ",
       "CI's readme_setup stage runs the README's first set-up line as written"},
      {"tools/run_tests", "the README's test command: the suite this test is part of"},
      {"tools/gpu_build", "the GPU machine's build, run there (tools/README.md)"},
      {"build-gpu/", "the GPU machine's build, run there (tools/README.md)"},
      {"tools/bench/vs_python --device cuda", "the GPU machine's benchmark, run there"},
  };
  for (const auto& [prefix, who] : known)
    if (line.rfind(prefix, 0) == 0) return who;
  return "";
}

/// GitHub's anchor for a heading: lower case, spaces to '-', punctuation other than '-' and '_'
/// dropped.
std::string anchor_of(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '_' || c == '-' || c >= 0x80)
      out += char(std::tolower(c));
    else if (c == ' ')
      out += '-';
  }
  return out;
}

std::set<std::string> anchors_of(const fs::path& file) {
  std::ifstream in(file);
  std::set<std::string> out;
  bool in_block = false;
  for (std::string line; std::getline(in, line);) {
    if (trimmed_left(line).rfind("```", 0) == 0) in_block = !in_block;
    if (in_block || line.rfind('#', 0) != 0) continue;
    const size_t text = line.find_first_not_of('#');
    if (text != std::string::npos && line[text] == ' ')
      out.insert(anchor_of(line.substr(text + 1)));
  }
  return out;
}
}  // namespace

TEST_CASE("every README is reached from the entry page, and every link leads somewhere",
          "[e2e][readme]") {
  const auto files = readme_files();
  const std::set<std::string> reached(files.begin(), files.end());
  for (const auto& file : readmes_in_tree()) {
    INFO(file << " is not linked from README.md or a README it links");
    CHECK(reached.count(file) == 1);
  }
  for (const auto& file : readmes_in_tree()) {
    for (const auto& [target, line] : links_of(kSource / file)) {
      INFO(file << ":" << line << ": (" << target << ")");
      const size_t hash = target.find('#');
      const std::string path = target.substr(0, hash);
      const fs::path to =
          path.empty() ? kSource / file : kSource / fs::path(file).parent_path() / path;
      CHECK(fs::exists(to));
      if (hash != std::string::npos && fs::exists(to) && to.extension() == ".md")
        CHECK(anchors_of(to).count(target.substr(hash + 1)) == 1);
    }
  }
}

TEST_CASE("every fabric-exp command in the READMEs runs as the README says", "[e2e][readme]") {
  TempDir dir;
  fs::create_symlink(kSource / "recipes", dir.str("recipes"));
  fs::create_directories(dir.str("schemas"));
  std::vector<ReadmeCommand> commands;
  for (const auto& file : readme_files()) {
    auto more = readme_commands(file);
    commands.insert(commands.end(), more.begin(), more.end());
  }
  const std::string program = e2e::readme_binary();
  REQUIRE(commands.size() >= 15);
  // A run id in the README ("764f") stands for a recorded run: the newest, then the next (the
  // same one again when the store has only one).
  const std::regex placeholder(R"(\b(?:[0-9a-z]{4}|[0-9a-z]{8})\b)");
  // The README's PostgreSQL URLs stand for one database on the test's own server, its SQLite
  // store's path for the scratch folder's.
  std::string team_store;
  for (const auto& c : commands) {
    std::string line = c.line;
    INFO(c.file << ":" << c.source_line << ": " << c.line);
    // The build's own fabric-exp, as the contributor READMEs call it: run in the scratch folder,
    // what it writes under schemas/ must be the checked-in file (the regeneration is true).
    if (line.rfind("build/src/fabric-exp ", 0) == 0) {
      auto r = test_support::run_command("cd " + q(dir.str()) + " && " + q(e2e::binary()) +
                                         line.substr(std::string("build/src/fabric-exp").size()));
      INFO(r.output);
      CHECK(r.exit_code == 0);
      std::smatch out;
      if (std::regex_search(line, out, std::regex(R"(--out (schemas/\S+))"))) {
        CHECK(test_support::read_file(dir.str(out[1])) ==
              test_support::read_file(kSource / out[1].str()));
      }
      continue;
    }
    if (line.rfind("fabric-exp ", 0) != 0) {
      // Any other shell command is one this test knows another part of CI runs.
      CHECK(!run_elsewhere(line).empty());
      continue;
    }
    if (contains(line, "postgresql://")) {
      if (!test_support::postgres_unavailable().empty()) continue;
      if (team_store.empty()) team_store = test_support::fresh_postgres_database();
      line = std::regex_replace(line, std::regex(R"(postgresql://[^ '"]+)"), team_store);
      line = std::regex_replace(line, std::regex(R"(runs/fabric-exp\.db)"), dir.str("store.db"));
    }
    std::istringstream words(line);
    std::string tool, verb;
    words >> tool >> verb;
    if (verb == "run" || verb == "sweep") {
      if (!contains(line, "--resume") && !contains(line, " show ") && !contains(line, " work "))
        line += " run.max_steps=5";
    }
    if (verb == "show" || verb == "compare" || verb == "plot" || verb == "rerun" || verb == "rm") {
      const auto runs = query(dir, "SELECT id FROM runs ORDER BY created_at DESC, rowid DESC");
      size_t used = 0;
      std::string rewritten;
      std::istringstream all(line);
      for (std::string w; all >> w;) {
        const bool id_like = std::regex_match(w, placeholder) && w != "last" &&
                             w.find('/') == std::string::npos && w != verb && w != tool &&
                             std::any_of(w.begin(), w.end(), ::isdigit);
        if (id_like && !runs.empty()) w = runs[used++ % runs.size()][0];
        rewritten += (rewritten.empty() ? "" : " ") + w;
      }
      line = rewritten;
    }
    // The server runs until stopped: on a free port, stopped by SIGTERM after two seconds.
    std::string prefix;
    if (verb == "ui") {
      line = std::regex_replace(line, std::regex(R"( --port \d+)"), "") + " --port 0";
      prefix = "timeout --preserve-status -s TERM 2 ";
    }
    const std::string shell = "cd " + q(dir.str()) +
                              " && FABRIC_EXP_STORE=" + q(dir.str("store.db")) + " " + prefix +
                              q(program) + line.substr(std::string("fabric-exp").size());
    auto r = test_support::run_command("bash -c " + q(shell));
    INFO(r.output);
    // What the README shows, or says, of the exit status.
    int expected_status = 0;
    if (c.expected.rfind("fabric-exp: error:", 0) == 0) expected_status = 2;
    if (verb == "config" && contains(line, "config diff")) expected_status = 1;  // as diff(1)
    if (contains(line, "--resume")) {
      // In this sequence the run or sweep before it has ended: resuming says so (exit 1).
      expected_status = r.exit_code == 0 ? 0 : 1;
      CHECK((r.exit_code == 0 || contains(r.output, "already")));
    }
    CHECK(r.exit_code == expected_status);
    if (verb == "ui") CHECK(contains(r.output, " at http://"));
    if (!c.expected.empty()) {
      if (c.expected.rfind("fabric-exp: error:", 0) == 0) {
        CHECK(contains(r.output, c.expected));
      } else {
        // A table's header: every column the README shows is there.
        std::istringstream header(c.expected);
        for (std::string column; header >> column;) CHECK(contains(r.output, column));
      }
    }
  }
}

TEST_CASE("the README's fabric-exp finds its LibTorch with a new login's environment, anywhere",
          "[e2e][readme]") {
  // No LD_LIBRARY_PATH, a folder outside the clone: what a user's shell after tools/bootstrap
  // has. `env` is answered by fabric-exp-train, so LibTorch is loaded, and says from where.
  TempDir dir;
  auto where = [&](const std::string& program) {
    auto r = test_support::run_command("cd " + q(dir.str()) + " && env -i HOME=" + q(dir.str()) +
                                       " PATH=/usr/bin:/bin " + q(program) + " env");
    INFO(program << " env:\n" << r.output);
    REQUIRE(r.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex(R"(loaded from  (\S+))")));
    return m[1].str();
  };
  const std::string installed = where(e2e::readme_binary());
  CHECK(fs::path(installed).filename().string().rfind("libtorch_cpu.so", 0) == 0);
  CHECK(fs::is_regular_file(installed));
  // The installed program loads the LibTorch the build linked, not another on the machine.
  CHECK(installed == where(e2e::binary()));
}

namespace {

/// The READMEs' ```cpp blocks that use the Fabric API (not the recipe engine's).
std::vector<std::string> readme_fabric_examples() {
  std::vector<std::string> blocks;
  for (const auto& file : readme_files()) {
    std::ifstream in(kSource / file);
    bool in_block = false;
    for (std::string line; std::getline(in, line);) {
      if (line == "```cpp") {
        in_block = true;
        blocks.emplace_back();
      } else if (in_block && line.rfind("```", 0) == 0) {
        in_block = false;
      } else if (in_block) {
        blocks.back() += line + "\n";
      }
    }
  }
  std::erase_if(blocks,
                [](const std::string& b) { return !contains(b, "fabric::Fabric fabric("); });
  return blocks;
}

/// How the build compiles the Fabric example program (its include folders and defines).
std::string example_compile_command() {
  const std::string db =
      test_support::read_file(test_support::exe_dir().parent_path() / "compile_commands.json");
  std::smatch m;
  const std::regex entry(R"re("command": "([^"]*examples/fashion_mnist\.cpp)")re");
  if (!std::regex_search(db, m, entry)) return "";
  std::string command =
      std::regex_replace(m[1].str(), std::regex(R"( -(MD|MQ \S+|MF \S+|o \S+|c \S+))"), "");
  return command;
}

}  // namespace

TEST_CASE("the READMEs' Fabric examples compile without warnings under -Wall -Wextra",
          "[e2e][readme]") {
  const auto blocks = readme_fabric_examples();
  REQUIRE(blocks.size() >= 2);
  const std::string command = example_compile_command();
  REQUIRE(!command.empty());
  TempDir dir;
  // Each block is a function body; the names it takes as given (a module holder `Net`, tensors
  // `x`, `y`) are declared around it.
  std::ostringstream program;
  // The blocks' own includes go first, once each.
  std::set<std::string> includes;
  for (const auto& block : blocks) {
    const std::regex include_line("#include [^\n]*\n");
    for (std::sregex_iterator it(block.begin(), block.end(), include_line), end; it != end; ++it)
      if (includes.insert(it->str()).second) program << it->str();
  }
  program << "#include <torch/torch.h>\n#include \"fabric/fabric.hpp\"\n"
             "struct NetImpl : torch::nn::Module {\n"
             "  NetImpl() : fc(register_module(\"fc\", torch::nn::Linear(4, 3))) {}\n"
             "  at::Tensor forward(at::Tensor x) { return fc(x); }\n"
             "  torch::nn::Linear fc;\n};\nTORCH_MODULE(Net);\n";
  for (size_t i = 0; i < blocks.size(); ++i) {
    std::string body = std::regex_replace(blocks[i], std::regex("#include [^\n]*\n"), "");
    program << "void readme_example_" << i << "(at::Tensor x, at::Tensor y) {\n"
            << "  (void)x;\n  (void)y;\n"
            << body << "}\n";
  }
  program << "int main() {}\n";
  std::ofstream(dir.str("readme_examples.cpp")) << program.str();
  auto r = test_support::run_command("cd " + q((test_support::exe_dir().parent_path()).string()) +
                                     " && " + command + " -Werror -fsyntax-only " +
                                     q(dir.str("readme_examples.cpp")) + " 2>&1");
  INFO(program.str());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.empty());
}
