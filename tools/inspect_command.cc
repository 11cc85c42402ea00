// omni inspect
#include <memory>

#include "command.h"
#include "omni/tools/inspect.h"

namespace omni::tools {

void add_inspect_command(CLI::App& root, Session& s) {
  struct Args {
    std::string db;
    std::string key;
    bool json = false;
    std::size_t limit = 20;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = add_command(
      root, "inspect", "Show the store's head, counts, checkpoints and cursors, or one key",
      "Shows the store: head seq and hash (the anchor for `audit verify --anchor`), event count, disk bytes, "
      "projection checkpoints, reader cursors and their lag; with KEY also its document, version, audit "
      "trail summary, relationships and versions.",
      Access::kReadOnly);
  cmd->add_option("--db", a->db, "the store's directory")->required();
  cmd->add_option("KEY", a->key, "a key to show");
  cmd->add_flag("--json", a->json, "print one JSON object");
  cmd->add_option("--limit", a->limit, "audit entries and relationships shown for KEY")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd->callback([&s, a, cmd] {
    s.run([&] {
      InspectOptions o{.db = a->db, .limit = a->limit};
      if (cmd->count("KEY") > 0) o.key = a->key;
      Result<nlohmann::ordered_json> r = inspect_store(o);
      if (!r.ok()) return s.fail(r.status());
      s.out << (a->json ? r->dump(2) + "\n" : inspect_text(*r));
      return static_cast<int>(kExitOk);
    });
  });
}

}  // namespace omni::tools
