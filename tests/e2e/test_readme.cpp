// The README's commands, as written: every `fabric-exp` command of its code blocks runs, in order,
// in one scratch folder (training shortened with run.max_steps), and its exit status and the
// output the README shows are checked. A README that promises what the tool does not do fails.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "e2e/run_helpers.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::q;
using e2e::query;
using test_support::TempDir;

namespace {

struct ReadmeCommand {
  std::string line;      // as written, without "$ " and the trailing comment
  std::string expected;  // the output the README shows after it ("" when none)
  int source_line = 0;
  bool prompted = false;  // written as "$ fabric-exp ...", with its output after it
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

std::vector<ReadmeCommand> readme_commands() {
  std::ifstream in(std::string(FABRIC_SOURCE_DIR) + "/README.md");
  std::vector<ReadmeCommand> out;
  bool in_block = false, continued = false;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block;
      continued = false;
      continue;
    }
    if (!in_block) continue;
    if (continued) {
      out.back().line.append(" ").append(without_comment(line.substr(line.find_first_not_of(' '))));
      continued = !out.back().line.empty() && out.back().line.back() == '\\';
      if (continued) out.back().line.pop_back();
      continue;
    }
    const bool prompt = line.rfind("$ ", 0) == 0;
    const std::string text = prompt ? line.substr(2) : line;
    if (text.rfind("fabric-exp ", 0) == 0) {
      out.push_back({without_comment(text), "", number, prompt});
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

}  // namespace

TEST_CASE("every fabric-exp command in the README runs as the README says", "[e2e][readme]") {
  TempDir dir;
  fs::create_symlink(std::string(FABRIC_SOURCE_DIR) + "/recipes", dir.str("recipes"));
  const auto commands = readme_commands();
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
    INFO("README.md:" << c.source_line << ": " << c.line << "\n" << r.output);
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

/// The README's ```cpp blocks that use the Fabric API (not the recipe engine's).
std::vector<std::string> readme_fabric_examples() {
  std::ifstream in(std::string(FABRIC_SOURCE_DIR) + "/README.md");
  std::vector<std::string> blocks;
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

TEST_CASE("the README's Fabric examples compile without warnings under -Wall -Wextra",
          "[e2e][readme]") {
  const auto blocks = readme_fabric_examples();
  REQUIRE(blocks.size() >= 2);
  const std::string command = example_compile_command();
  REQUIRE(!command.empty());
  TempDir dir;
  // Each block is a function body; the names it takes as given (a module holder `Net`, tensors
  // `x`, `y`) are declared around it.
  std::ostringstream program;
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
