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

// The block of `file` between the two markers, less its two-space indent.
std::string snippet(const std::string& file, const std::string& begin, const std::string& end) {
  std::istringstream example(read(OMNI_SOURCE_DIR "/examples/" + file));
  std::string line, out;
  bool in = false;
  while (std::getline(example, line)) {
    if (line.find(end) != std::string::npos) break;
    if (in) out += (line.rfind("  ", 0) == 0 ? line.substr(2) : line) + "\n";
    if (line.find(begin) != std::string::npos) in = true;
  }
  return out;
}

TEST(ReadmeTest, QuickStartSnippetMatchesTheCompiledExample) {
  const std::string s = snippet("quickstart.cc", "--- quick start (README) ---", "--- end of quick start ---");
  ASSERT_FALSE(s.empty()) << "markers missing in examples/quickstart.cc";
  EXPECT_NE(read(OMNI_SOURCE_DIR "/README.md").find(s), std::string::npos) << "README.md does not contain:\n" << s;
}

TEST(ReadmeTest, FeaturesSnippetMatchesTheCompiledExample) {
  const std::string s = snippet("features.cc", "--- features (README) ---", "--- end of features ---");
  ASSERT_FALSE(s.empty()) << "markers missing in examples/features.cc";
  EXPECT_NE(read(OMNI_SOURCE_DIR "/README.md").find(s), std::string::npos) << "README.md does not contain:\n" << s;
}

TEST(ReadmeTest, BackendsSnippetMatchesTheCompiledExample) {
  const std::string s = snippet("backends.cc", "--- backends (README) ---", "--- end of backends ---");
  ASSERT_FALSE(s.empty()) << "markers missing in examples/backends.cc";
  EXPECT_NE(read(OMNI_SOURCE_DIR "/README.md").find(s), std::string::npos) << "README.md does not contain:\n" << s;
}

}  // namespace
