// The README's quick start must be examples/quickstart.cc's marked block, verbatim
// (less its two-space indent), so the snippet users copy is the one the suite runs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ReadmeTest, QuickStartSnippetMatchesTheCompiledExample) {
  std::istringstream example(read(OMNI_SOURCE_DIR "/examples/quickstart.cc"));
  std::string line, snippet;
  bool in = false;
  while (std::getline(example, line)) {
    if (line.find("--- end of quick start ---") != std::string::npos) break;
    if (in) snippet += (line.rfind("  ", 0) == 0 ? line.substr(2) : line) + "\n";
    if (line.find("--- quick start (README) ---") != std::string::npos) in = true;
  }
  ASSERT_FALSE(snippet.empty()) << "markers missing in examples/quickstart.cc";
  EXPECT_NE(read(OMNI_SOURCE_DIR "/README.md").find(snippet), std::string::npos)
      << "README.md does not contain:\n" << snippet;
}

}  // namespace
