// sic config [CONFIG.json] [--keys]
// Prints the effective config (every field, defaults filled in) of CONFIG.json,
// or of the defaults; refuses a bad file with the same one-line error as
// `sic train`. --keys lists every key with its default and allowed values.
#include <cstdio>
#include <string>

#include "sic/config.h"
#include "tools/sic/cli_args.h"
#include "tools/sic/commands.h"

namespace sic {

int ConfigCommand(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {}, {"--keys"});
  if (!args.ok() || args->positional().size() > 1) {
    std::fprintf(stderr, "sic config: %s\n",
                 args.ok() ? "usage: sic config [CONFIG.json] [--keys]" : args.status().message().c_str());
    return 1;
  }
  Config config;
  if (!args->positional().empty()) {
    auto parsed = ConfigFromFile(args->positional()[0]);
    if (!parsed.ok()) {
      std::fprintf(stderr, "sic config: %s\n", parsed.status().message().c_str());
      return 1;
    }
    config = parsed.value();
  }
  const auto json = ConfigToJson(config);
  if (!args->Has("--keys")) {
    std::printf("%s\n", json.dump(2).c_str());
    return 0;
  }
  const auto flat = json.flatten();
  for (const auto& key : ConfigKeys()) {
    std::string pointer = "/" + key;
    for (auto& ch : pointer) ch = ch == '.' ? '/' : ch;
    std::printf("%-28s %-12s %s\n", key.c_str(), flat[pointer].dump().c_str(), ConfigAllowed(key).c_str());
  }
  return 0;
}

}  // namespace sic
